/**
 * The call stage (DESIGN §5): the pipeline's terminal step. Walks the request's route plan in order
 * (fallback), retries each deployment on retriable errors, bounds every attempt and the whole request by
 * timeouts, and produces the one `Result`: a whole answer, or the upstream stream once its first substantive
 * chunk arrived — the point after which nothing is retried. It is the only writer of `ctx.upstream`.
 *
 * Per attempt it also decides two things the rest of the gateway relies on:
 * - whether the provider may bill a failed attempt (it reached the provider: accepted, or sent and then
 *   timed out or aborted) — such attempts go to `ctx.upstream.billable`, which settle charges at an
 *   estimate (docs/decisions/0082-billing-every-attempt.md);
 * - whether a failure is the deployment's fault and counts against its breaker, or the request's own (a
 *   timeout of a request too large for its time is not retried either; docs/decisions/0083).
 */
import type { Clock } from '../core/clock.js';
import type { RequestContext } from '../core/context.js';
import { ClientClosedError, GatewayError, RateLimitError, TimeoutError } from '../core/errors.js';
import {
  completionResult,
  embeddingResult,
  type JsonResult,
  type OpenedStream,
  type Result,
  streamResult,
} from '../core/result.js';
import type { Next } from '../core/stage.js';
import type { CallOptions, ChunkStream } from '../providers/types.js';
import { backoffCeiling, type RetryPolicy, withRetry } from '../resilience/retry.js';
import { attributeTimeout, expectedOutputMs, isDeploymentFault } from '../routing/fault.js';
import type { Deployment } from '../routing/resolver.js';
import { type Router, RouteUnavailableError, type TriedDeployment } from '../routing/router.js';
import type { AttemptInstrumentation } from '../telemetry/provider-attempt.js';
import { endGenerateSpan } from '../telemetry/tracing.js';
import { type AttemptProgress, noteBillable } from './billable.js';
import { readHead } from './stream-head.js';

export interface CallStageOptions {
  retry: RetryPolicy;
  clock: Clock;
  /** Per attempt: until the answer (non-stream) or the first chunk (stream). */
  attemptTimeoutMs: number;
  /** All attempts of one request (streams: until the first chunk). */
  totalTimeoutMs: number;
  /** Circuit breakers, fallback counting and latency tracking; without it, no breakers. */
  router?: Router | undefined;
  /** Per-attempt metrics and `provider.api_call` spans (telemetry/provider-attempt.ts). */
  instrument?: AttemptInstrumentation;
}

interface Attempt<T> {
  value: T;
  /** Ends the attempt's hold on the request; `complete: false` also aborts the upstream call. */
  release(complete: boolean): void;
}

/** Creates the call stage. `ctx.request` and `ctx.route` (and, with a router, `ctx.plan`) must be set. */
export function createCallStage(options: CallStageOptions): Next {
  const { clock, router } = options;

  /**
   * One attempt against one deployment, with its own timeout, aborted with the request. The attempt settles
   * as soon as its signal aborts, even when the provider call does not notice (undici keeps a request that
   * waits for a pooled connection queued until it gets one); a late result is handed to `discard`.
   */
  async function attempt<T>(
    ctx: RequestContext,
    d: Deployment,
    run: (call: CallOptions, progress: AttemptProgress) => Promise<T>,
    keepOpen: boolean,
    discard: (value: T) => void,
    deadline: number,
  ): Promise<Attempt<T>> {
    const parent = ctx.abort.signal;
    if (parent.aborted) throw parent.reason;
    const controller = new AbortController();
    const onParentAbort = () => controller.abort(parent.reason);
    parent.addEventListener('abort', onParentAbort, { once: true });
    const unlink = () => parent.removeEventListener('abort', onParentAbort);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    const timer = setTimeout(() => {
      controller.abort(
        new TimeoutError(`${d.provider} did not answer within ${options.attemptTimeoutMs} ms.`, d.provider),
      );
    }, options.attemptTimeoutMs);
    ctx.upstream.attempts++;
    ctx.upstream.deployment = d;
    const started = clock.now();
    const probe = options.instrument?.start(ctx, d);
    const progress: AttemptProgress = { accepted: false, streamed: '' };
    let pending: Promise<T> | undefined;
    try {
      pending = run(
        {
          model: d.model,
          signal: controller.signal,
          requestId: ctx.requestId,
          traceparent: probe?.traceparent,
          native: ctx.request?.kind === 'chat' ? ctx.request.native : undefined,
        },
        progress,
      );
      const value = await Promise.race([pending, aborted]);
      probe?.end(null);
      if (!keepOpen) unlink();
      return {
        value,
        release: (complete) => {
          unlink();
          // A completed stream keeps its connection for reuse; an unfinished one is cut.
          if (!complete) controller.abort(new ClientClosedError());
        },
      };
    } catch (err) {
      unlink();
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
      controller.abort();
      pending?.then(discard, () => undefined);
      const allowedMs = Math.min(options.attemptTimeoutMs, deadline - started);
      const failure = attributeTimeout(
        reason instanceof GatewayError ? reason : err,
        expectedOutputMs(ctx.request, router?.breaker(d).settings.expectedMsPerOutputToken ?? 0),
        allowedMs,
      );
      noteBillable(ctx, d, failure, progress, keepOpen);
      probe?.end(failure);
      throw failure;
    } finally {
      clearTimeout(timer);
      ctx.timings.upstream += clock.now() - started;
    }
  }

  /**
   * Tries the route's deployments in the order its strategy chose, each with retries; moves on only after a
   * retriable failure or past an open circuit breaker. Every pass over a deployment is reported to its breaker
   * (failure only for what says something about the deployment) and, on success, to the latency tracker.
   */
  async function overRoute<T>(
    ctx: RequestContext,
    run: (d: Deployment, call: CallOptions, progress: AttemptProgress) => Promise<T>,
    keepOpen: boolean,
    discard: (value: T) => void = () => undefined,
  ): Promise<Attempt<T>> {
    const route = ctx.route;
    if (!route) throw new Error('pipeline called without a route');
    const deadline = clock.now() + options.totalTimeoutMs;
    const order = ctx.plan ?? route.deployments;
    const tried: TriedDeployment[] = [];
    let lastError: unknown;
    let moved: { from: string; reason: string } | null = null;
    for (const d of order) {
      const breaker = router?.breaker(d);
      if (breaker && !breaker.tryAcquire()) {
        tried.push({ id: d.id, outcome: 'circuit_open', retryInMs: breaker.retryInMs() });
        moved = { from: d.id, reason: 'circuit_open' };
        continue;
      }
      if (moved) noteFallback(ctx, route.name, moved, d.id);
      try {
        const { result, attemptMs } = await withRetries(ctx, d, run, keepOpen, discard, deadline);
        breaker?.success();
        router?.observe(d, keepOpen ? 'ttft' : 'latency', attemptMs);
        return result;
      } catch (err) {
        lastError = err;
        if (breaker) {
          if (isDeploymentFault(err, ctx.abort.signal)) breaker.failure();
          else breaker.release();
        }
        tried.push({ id: d.id, outcome: errorCode(err) });
        moved = { from: d.id, reason: errorCode(err) };
        const retriable = err instanceof GatewayError && err.isRetryable;
        if (!retriable || ctx.abort.signal.aborted || clock.now() >= deadline) break;
      }
    }
    const last = withRetryAfterHint(lastError, options.retry);
    // One deployment that really failed: its own error says it all. Otherwise name everything tried.
    if (tried.length === 1 && tried[0]?.outcome !== 'circuit_open') throw last;
    if (lastError !== undefined && !(lastError instanceof GatewayError && lastError.isRetryable)) throw last;
    if (ctx.abort.signal.aborted) throw last;
    throw new RouteUnavailableError(route.name, tried, last);
  }

  /** One pass over a deployment: its attempts with backoff; also how long the successful attempt took. */
  async function withRetries<T>(
    ctx: RequestContext,
    d: Deployment,
    run: (d: Deployment, call: CallOptions, progress: AttemptProgress) => Promise<T>,
    keepOpen: boolean,
    discard: (value: T) => void,
    deadline: number,
  ): Promise<{ result: Attempt<T>; attemptMs: number }> {
    let attemptMs = 0;
    const result = await withRetry(
      async () => {
        const started = clock.now();
        const value = await attempt(
          ctx,
          d,
          (call, progress) => run(d, call, progress),
          keepOpen,
          discard,
          deadline,
        );
        attemptMs = clock.now() - started;
        return value;
      },
      {
        policy: options.retry,
        clock,
        signal: ctx.abort.signal,
        deadline,
        onRetry: ({ attempt: n, delayMs, error }) => {
          ctx.timings.wait += delayMs;
          ctx.log.warn(
            {
              event: 'upstream.retry',
              deployment: d.id,
              attempt: n,
              delay_ms: Math.round(delayMs),
              error_code: error.code,
            },
            'retrying upstream call',
          );
        },
      },
    );
    return { result, attemptMs };
  }

  /** Counts and logs a move to the next deployment (`route.fallback`: from, to, why). */
  function noteFallback(
    ctx: RequestContext,
    routeName: string,
    moved: { from: string; reason: string },
    to: string,
  ): void {
    ctx.upstream.fallbackCount++;
    router?.countFallback(moved.from, to);
    // Skipping an open breaker is routine (its opening was logged once, as a warning): info level.
    ctx.log[moved.reason === 'circuit_open' ? 'info' : 'warn'](
      { event: 'route.fallback', route: routeName, from: moved.from, to, reason: moved.reason },
      'moving to the next deployment',
    );
  }

  /** Aborts the request when the total deadline passes; returns the canceller. */
  function armDeadline(ctx: RequestContext): () => void {
    const timer = setTimeout(() => {
      const provider = ctx.upstream.deployment?.provider ?? 'upstream';
      ctx.abort.abort(
        new TimeoutError(`No answer within the total timeout of ${options.totalTimeoutMs} ms.`, provider),
      );
    }, options.totalTimeoutMs);
    return () => clearTimeout(timer);
  }

  /** A whole (non-stream) answer over the route: deadline armed, `provider.generate` span ended either way. */
  async function generate<T>(
    ctx: RequestContext,
    run: (d: Deployment, call: CallOptions) => Promise<T>,
    toResult: (value: T, deployment: Deployment | null) => JsonResult,
  ): Promise<JsonResult> {
    const disarm = armDeadline(ctx);
    try {
      const { value } = await overRoute(ctx, run, false);
      const result = toResult(value, ctx.upstream.deployment);
      endGenerateSpan(ctx, undefined, result.outcome);
      return result;
    } catch (err) {
      endGenerateSpan(ctx, err);
      throw err;
    } finally {
      disarm();
    }
  }

  async function openStream(
    ctx: RequestContext,
    run: (d: Deployment, call: CallOptions) => Promise<ChunkStream>,
  ): Promise<OpenedStream> {
    const disarm = armDeadline(ctx);
    try {
      const opened = await overRoute(
        ctx,
        async (d, call, progress) => {
          const rest = (await run(d, call))[Symbol.asyncIterator]();
          progress.accepted = true;
          return { head: await readHead(d.provider, rest, progress), rest };
        },
        true,
        (late) => void late.rest.return?.(),
      );
      let closed = false;
      return {
        head: opened.value.head,
        rest: opened.value.rest,
        close(complete) {
          if (closed) return;
          closed = true;
          opened.release(complete);
          if (!complete) void opened.value.rest.return?.();
        },
      };
    } catch (err) {
      endGenerateSpan(ctx, err);
      throw err;
    } finally {
      disarm();
    }
  }

  return async (ctx): Promise<Result> => {
    const request = ctx.request;
    if (!request) throw new Error('call stage reached without a decoded request');
    if (request.kind === 'embeddings') {
      return generate(ctx, (d, call) => d.adapter.embed(request.body, call), embeddingResult);
    }
    // A body in another API's format rides along in `call.native` for the adapters that speak it.
    if (!request.stream) {
      return generate(
        ctx,
        (d, call) => d.adapter.chat(request.body, call),
        (value, deployment) => completionResult(value, 'upstream', deployment),
      );
    }
    const opened = await openStream(ctx, (d, call) => d.adapter.chatStream(request.body, call));
    return streamResult(opened, 'upstream', ctx.upstream.deployment, () => clock.now());
  };
}

/**
 * A 429 always tells the client when to come back (DESIGN §3, `Retry-After` on 429). When the provider sent
 * no Retry-After, the hint is the gateway's own next backoff ceiling.
 */
function withRetryAfterHint(err: unknown, policy: RetryPolicy): unknown {
  if (!(err instanceof RateLimitError) || err.retryAfterMs !== undefined) return err;
  return new RateLimitError(err.message, err.provider, {
    param: err.param,
    upstreamStatus: err.upstreamStatus,
    retryAfterMs: backoffCeiling(policy.maxAttempts, policy),
    cause: err.cause,
  });
}

function errorCode(err: unknown): string {
  return err instanceof GatewayError ? err.code : 'internal_error';
}
