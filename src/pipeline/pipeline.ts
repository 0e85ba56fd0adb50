/**
 * The request pipeline (DESIGN §2), composed once at start-up. The whole order is here:
 *
 *   open (on arrival): telemetry
 *   authenticate → decode → prompt → resolve → endpoint (responses) → admit (rate limit, budgets) → price
 *   → guard → cache → route → call
 *   settle, once, in a finally: cost → usage record → budget settlement → token-bucket settlement → telemetry
 *
 * - `open` steps run when the request arrives, before its body is read: telemetry opens the trace and
 *   counts the request active.
 * - `authenticate` (auth) sets the principal; `decode` (the endpoint codec) the canonical request;
 *   `prompt` renders a stored prompt / assigns an experiment's variant (model, messages) before anything
 *   reads them; `resolve` the route (alias → deployments) after checking the caller may use the model.
 * - `admit` stages may refuse (429 rate limit, 429 budget) before anything is spent.
 * - `price` (accounting) marks a cached stream as free before its headers go out.
 * - `guard` (guardrails) checks the request before the cache sees it (mask, redact, block) and wraps the
 *   answer — cached or not, JSON or stream — to check it on the way out.
 * - `cache` may answer (exact, semantic, or an identical call in flight); its own store write happens when
 *   the shared upstream call completes, off the response path.
 * - `route` orders the route's deployments for this request; `call` walks them (retry, timeout, fallback).
 *
 * The result's outcome is recorded once (`ctx.outcome`); then `settle` runs exactly once per request —
 * JSON answers before they are written (so `X-Cost` is exact), streams when they end (complete, failed or
 * abandoned by the client), errors before the error is written. Settle steps only read the outcome; the
 * cost step is the one writer of `ctx.usage` and `ctx.costUsd`.
 */
import type { RequestContext, RequestEnd } from '../core/context.js';
import { asGatewayError, type GatewayError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import { compose, type Next, type OpenStep, type SettleStep, type Stage } from '../core/stage.js';

export interface PipelineParts {
  open: readonly OpenStep[];
  authenticate: Stage;
  decode: Stage;
  /** Prompts and experiments (renders the request's prompt reference); absent = none. */
  prompt?: Stage | null;
  resolve: Stage;
  /** Endpoint stages after resolve (stored responses: `previous_response_id`, storing the answer). */
  endpoint?: readonly Stage[];
  /** In order: rate limit before budgets (a limited request reserves nothing). */
  admit: readonly Stage[];
  price: Stage;
  /** Guardrails (input before the cache, output around it); null/absent = no guardrails. */
  guard?: Stage | null;
  /** null when the cache is off. */
  cache: Stage | null;
  route: Stage;
  call: Next;
  /** Settle steps, run in this order (telemetry last: it logs what the others computed). */
  settle: {
    cost: SettleStep;
    usage: SettleStep;
    budgets: SettleStep;
    ratelimit: SettleStep;
    telemetry: SettleStep;
  };
  /** An open or settle step threw (logged; the other steps still run). */
  onStepError(step: string, ctx: RequestContext, err: unknown): void;
}

/** What the server writes: the result, and when the request has been settled. */
export interface Handled {
  result: Result;
  /** JSON: already settled. Streams: settles once `result.end` was called (the writer calls it). */
  settled: Promise<void>;
}

export interface Pipeline {
  /** Stage names in order (for docs, logs and tests). */
  readonly stages: readonly string[];
  /** A request arrived (before its body is read): runs the open steps. Never throws. */
  open(ctx: RequestContext): void;
  /** Runs a request. Rejects with the request's error after it was settled. */
  run(ctx: RequestContext): Promise<Handled>;
  /**
   * Settles a request that failed before its stages ran (a body over the size limit, a malformed URL), so
   * it is still counted and logged once.
   */
  reject(ctx: RequestContext, error: GatewayError): Promise<void>;
}

/** Composes the pipeline. */
export function createPipeline(parts: PipelineParts): Pipeline {
  const stages: Stage[] = [
    parts.authenticate,
    parts.decode,
    ...(parts.prompt ? [parts.prompt] : []),
    parts.resolve,
    ...(parts.endpoint ?? []),
    ...parts.admit,
    parts.price,
    ...(parts.guard ? [parts.guard] : []),
    ...(parts.cache ? [parts.cache] : []),
    parts.route,
  ];
  const handle = compose(stages, parts.call);
  const { cost, usage, budgets, ratelimit, telemetry } = parts.settle;
  const settleSteps: readonly SettleStep[] = [cost, usage, budgets, ratelimit, telemetry];

  /** Runs the settle steps exactly once per request; never throws. */
  async function settle(ctx: RequestContext, end: RequestEnd): Promise<void> {
    if (ctx.end !== null) return;
    ctx.end = end;
    for (const step of settleSteps) {
      try {
        // Most steps are synchronous (they queue their I/O): await only the ones that return a promise.
        const pending = step.settle(ctx);
        if (pending) await pending;
      } catch (err) {
        parts.onStepError(step.name, ctx, err);
      }
    }
  }

  return {
    stages: [...stages.map((s) => s.name), 'call'],

    open(ctx) {
      for (const step of parts.open) {
        try {
          step.open(ctx);
        } catch (err) {
          parts.onStepError(step.name, ctx, err);
        }
      }
    },

    async run(ctx) {
      let result: Result;
      try {
        result = await handle(ctx);
      } catch (err) {
        const error = asGatewayError(err);
        await settle(ctx, { status: error.status, error, complete: false });
        throw error;
      }
      ctx.outcome = result.outcome;
      if (result.kind === 'json') {
        await settle(ctx, { status: 200, error: null, complete: true });
        return { result, settled: Promise.resolve() };
      }
      const settled = result.done.then((how) =>
        settle(ctx, {
          status: how.complete ? 200 : (how.error?.status ?? 500),
          error: how.error,
          complete: how.complete,
        }),
      );
      return { result, settled };
    },

    reject: (ctx, error) => settle(ctx, { status: error.status, error, complete: false }),
  };
}
