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
 * JSON answers in two parts: the cost before the answer is written (so `X-Cost` is exact), the other steps
 * right after it was handed to the socket (`Handled.written`: the client does not wait for the usage
 * record, budget and token-bucket settlement, metrics and log line; decision 0193); streams when they end
 * (complete, failed or abandoned by the client); errors before the error is written. Settle steps only read
 * the outcome; the cost step is the one writer of `ctx.usage` and `ctx.costUsd`.
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
  readonly result: Result;
  /**
   * Streams: resolves once the request was settled, after `result.end` was called (the writer calls it and
   * waits for this before its cost trailer). JSON: the cost is settled already; resolved.
   */
  readonly settled: Promise<void>;
  /**
   * JSON: the writer calls this once the answer was handed to the socket, or could not be (call it in a
   * `finally`): it runs the settle steps after the cost (usage record, budgets, token buckets, telemetry).
   * Runs them at most once; a no-op for streams (they settle when they end).
   */
  written(): void;
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

const noop = (): void => {};

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

  /** Done: a JSON answer's `settled`, and `reject` when every settle step was synchronous. */
  const SETTLED = Promise.resolve();
  /** A JSON answer's settle steps after the cost (the first step): they run once it was written. */
  const AFTER_WRITE = 1;

  /**
   * Runs the settle steps exactly once per request; never throws or rejects. Synchronous (undefined) when
   * every step is — most are (they queue their I/O) — so a request pays no promise for them.
   */
  function settle(
    ctx: RequestContext,
    end: RequestEnd,
    last = settleSteps.length,
  ): Promise<void> | undefined {
    if (ctx.end !== null) return undefined;
    ctx.end = end;
    return settleFrom(ctx, 0, last);
  }

  /** Runs settle steps `first` to `last` (exclusive), awaiting only those that return a promise. */
  function settleFrom(
    ctx: RequestContext,
    first: number,
    last = settleSteps.length,
  ): Promise<void> | undefined {
    for (let i = first; i < last; i++) {
      const step = settleSteps[i] as SettleStep;
      let pending: void | Promise<void>;
      try {
        pending = step.settle(ctx);
      } catch (err) {
        parts.onStepError(step.name, ctx, err);
        continue;
      }
      // Await only the steps that return a promise, then go on with the next one.
      if (pending) {
        return pending.then(
          () => settleFrom(ctx, i + 1, last),
          (err: unknown) => {
            parts.onStepError(step.name, ctx, err);
            return settleFrom(ctx, i + 1, last);
          },
        );
      }
    }
    return undefined;
  }

  /** The request failed: settled, then rejected with its error. */
  function failed(ctx: RequestContext, err: unknown): Promise<never> {
    const error = asGatewayError(err);
    const pending = settle(ctx, { status: error.status, error, complete: false });
    return pending
      ? pending.then(() => {
          throw error;
        })
      : Promise.reject(error);
  }

  /** A JSON answer whose cost is settled; `written` runs the other settle steps, once. */
  class JsonHandled implements Handled {
    readonly settled = SETTLED;
    #ctx: RequestContext | null;
    constructor(
      readonly result: Result,
      ctx: RequestContext,
    ) {
      this.#ctx = ctx;
    }
    written(): void {
      const ctx = this.#ctx;
      if (ctx === null) return;
      this.#ctx = null;
      // Never rejects (settleFrom reports a failing step and goes on).
      void settleFrom(ctx, AFTER_WRITE);
    }
  }

  function handled(ctx: RequestContext, result: Result): Handled | Promise<Handled> {
    ctx.outcome = result.outcome;
    if (result.kind === 'json') {
      const done = new JsonHandled(result, ctx);
      const pending = settle(ctx, { status: 200, error: null, complete: true }, AFTER_WRITE);
      return pending ? pending.then(() => done) : done;
    }
    const settled = result.done.then((how) =>
      settle(ctx, {
        status: how.complete ? 200 : (how.error?.status ?? 500),
        error: how.error,
        complete: how.complete,
      }),
    );
    return { result, settled, written: noop };
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

    // No async function: one promise for the chain's result, none for synchronous settle steps.
    run(ctx) {
      let result: Promise<Result>;
      try {
        result = handle(ctx);
      } catch (err) {
        return failed(ctx, err);
      }
      return result.then(
        (r) => handled(ctx, r),
        (err: unknown) => failed(ctx, err),
      );
    },

    reject: (ctx, error) => settle(ctx, { status: error.status, error, complete: false }) ?? SETTLED,
  };
}
