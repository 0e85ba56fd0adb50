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
import { type CanonicalRequest, type RequestContext, retireAbort } from '../core/context.js';
import { ClientClosedError, GatewayError, RateLimitError, TimeoutError } from '../core/errors.js';
import { StreamLiveness } from '../core/liveness.js';
import {
  completionResult,
  embeddingResult,
  type JsonResult,
  type OpenedStream,
  type Result,
  streamResult,
} from '../core/result.js';
import type { Next } from '../core/stage.js';
import type { CallOptions, ChatCompletion, EmbeddingResponse } from '../providers/types.js';
import { backoffCeiling, type RetryPolicy, retryDelay } from '../resilience/retry.js';
import { attributeTimeout, expectedOutputMs, isDeploymentFault } from '../routing/fault.js';
import type { Deployment } from '../routing/resolver.js';
import { type Router, RouteUnavailableError, type TriedDeployment } from '../routing/router.js';
import type { AttemptInstrumentation } from '../telemetry/provider-attempt.js';
import { endGenerateSpan } from '../telemetry/tracing.js';
import { startAttemptTimer, stopAttemptTimer } from './attempt-timer.js';
import { type AttemptProgress, noteBillable } from './billable.js';
import { closeLate, endStreamAttempt, type Opened, openHead } from './stream-head.js';

export interface CallStageOptions {
  retry: RetryPolicy;
  clock: Clock;
  /** Per attempt: until the answer (non-stream) or the first chunk (stream). */
  attemptTimeoutMs: number;
  /** All attempts of one request (streams: until the first chunk). */
  totalTimeoutMs: number;
  /**
   * Streams: once the upstream sent its first event, only silence this long ends the wait for the first
   * chunk (decision 0225; `upstream.stream_idle_timeout_ms`). Default: the attempt timeout.
   */
  streamIdleTimeoutMs?: number;
  /** Circuit breakers, fallback counting and latency tracking; without it, no breakers. */
  router?: Router | undefined;
  /** Per-attempt metrics and `provider.api_call` spans (telemetry/provider-attempt.ts). */
  instrument?: AttemptInstrumentation;
}

/** Creates the call stage. `ctx.request` and `ctx.route` (and, with a router, `ctx.plan`) must be set. */
export function createCallStage(options: CallStageOptions): Next {
  const { clock, router } = options;
  const now = () => clock.now();

  /**
   * One attempt against one deployment (docs/decisions/0151). It runs on the request's own controller:
   * client close and the total deadline abort it directly, with no second controller and no listener
   * linking the two. One timer bounds it (attempt-timer.ts), at whichever comes first of its own timeout and
   * the request's total deadline (a stream's: until its upstream's first event, then only its silence); the
   * first only retires the controller (`retireAbort`: the request goes on with a fresh one), the second
   * aborts the request. A failed attempt retires the controller too, cutting whatever it
   * left open. The attempt settles as soon as its signal aborts, even when the provider call does not notice
   * (undici keeps a request that waits for a pooled connection queued until it gets one); a late stream is
   * closed.
   */
  async function attempt(
    ctx: RequestContext,
    d: Deployment,
    started: number,
    deadline: number,
  ): Promise<unknown> {
    const controller = ctx.abort;
    const signal = controller.signal;
    if (signal.aborted) throw signal.reason;
    const request = ctx.request as CanonicalRequest;
    ctx.upstream.attempts++;
    ctx.upstream.deployment = d;
    const left = deadline - started;
    const perAttempt = options.attemptTimeoutMs < left;
    // A stream's upstream may be working without a chunk to show (thinking, pings): it is heard here.
    const heard = request.stream ? new StreamLiveness(now) : null;
    ctx.upstream.heard = heard;
    const timer = startAttemptTimer(
      {
        ctx,
        controller,
        provider: d.provider,
        perAttempt,
        attemptTimeoutMs: options.attemptTimeoutMs,
        totalTimeoutMs: options.totalTimeoutMs,
        idleTimeoutMs: options.streamIdleTimeoutMs ?? options.attemptTimeoutMs,
        heard,
        handle: undefined,
      },
      perAttempt ? options.attemptTimeoutMs : Math.max(0, left),
    );
    const probe = options.instrument?.start(ctx, d);
    const progress: AttemptProgress = { accepted: false, streamed: '' };
    let pending: Promise<unknown> | undefined;
    try {
      pending = invoke(d, request, progress, {
        model: d.model,
        signal,
        requestId: ctx.requestId,
        traceparent: probe?.traceparent,
        tracestate: probe?.tracestate,
        native: request.kind === 'chat' ? request.native : undefined,
        heard: heard ?? undefined,
      });
      const value = await untilAborted(pending, signal);
      // A stream's attempt ends with the stream (openStream's close), not at its first chunk.
      if (request.stream) {
        probe?.opened();
        (value as Opened).probe = probe;
      } else probe?.end(null);
      return value;
    } catch (err) {
      const reason: unknown = signal.aborted ? signal.reason : undefined;
      retireAbort(ctx, controller);
      if (pending && request.stream) pending.then(closeLate, ignore);
      // Oversized means too large for the time an attempt is given, not for what a late retry had left.
      const allowedMs = Math.min(options.attemptTimeoutMs, options.totalTimeoutMs);
      const failure = attributeTimeout(
        reason instanceof GatewayError ? reason : err,
        expectedOutputMs(request, router?.breaker(d).settings.expectedMsPerOutputToken ?? 0, d),
        allowedMs,
      );
      noteBillable(ctx, d, failure, progress);
      probe?.end(failure);
      throw failure;
    } finally {
      stopAttemptTimer(timer);
      ctx.timings.upstream += clock.now() - started;
    }
  }

  /**
   * Tries the route's deployments in the order its strategy chose, each with retries (`retryDelay`: backoff,
   * Retry-After, the deadline); moves on only after a failure another deployment may not have (`mayFallBack`:
   * a retriable one, a spent quota, a provider 404) or past an open circuit breaker.
   * Every pass over a deployment is reported to its breaker (failure only for what says something about the
   * deployment) and, on success, to the latency tracker.
   */
  async function overRoute(ctx: RequestContext): Promise<unknown> {
    const route = ctx.route;
    if (!route) throw new Error('pipeline called without a route');
    const stream = ctx.request?.stream === true;
    // The first attempt starts now: one clock read for it and the deadline.
    let started = clock.now();
    let first = true;
    const deadline = started + options.totalTimeoutMs;
    const order = ctx.plan ?? route.deployments;
    const tried: TriedDeployment[] = [];
    let lastError: unknown;
    let moved: { from: string; reason: string } | null = null;
    for (const d of order) {
      // Every move counts, also onto a deployment skipped for its open breaker (p0 failed → p1 open → p2 is two).
      if (moved) noteFallback(ctx, route.name, moved, d.id);
      const breaker = router?.breaker(d);
      if (breaker && !breaker.tryAcquire()) {
        // Half-open with its probes in flight has no cool-down left: the probe's outcome is due now (≥ 1 s hint).
        tried.push({ id: d.id, outcome: 'circuit_open', retryInMs: breaker.retryInMs() ?? 0 });
        moved = { from: d.id, reason: 'circuit_open' };
        continue;
      }
      let value: unknown;
      let attemptMs = 0;
      try {
        for (let n = 1; ; n++) {
          if (first) first = false;
          else started = clock.now();
          try {
            value = await attempt(ctx, d, started, deadline);
            attemptMs = clock.now() - started;
            break;
          } catch (err) {
            // A deployment that did not answer in time is not waited for again while another may serve:
            // its retries would spend the total deadline the next deployment needs (docs/routing.md).
            if (err instanceof TimeoutError && onwardOf(order, d)) throw err;
            const delayMs = retryDelay(err, n, options.retry, clock, ctx.abort.signal, deadline);
            if (delayMs < 0) throw err;
            noteRetry(ctx, d, n, delayMs, err as GatewayError);
            await clock.sleep(delayMs, ctx.abort.signal);
          }
        }
      } catch (err) {
        lastError = err;
        if (breaker) {
          if (isDeploymentFault(err, ctx.abort.signal)) breaker.failure();
          else breaker.release();
        }
        // A known wait (its Retry-After) is kept: the route's final error tells the client the soonest one.
        tried.push({ id: d.id, outcome: errorCode(err), retryInMs: retryAfterOf(err) });
        moved = { from: d.id, reason: errorCode(err) };
        // Retriable errors, and failures another deployment may not have (a spent quota, a missing model).
        const onward = err instanceof GatewayError && err.mayFallBack;
        if (!onward || ctx.abort.signal.aborted || clock.now() >= deadline) break;
        continue;
      }
      // A stream's pass is judged when it ended: one that fails after its first chunk is a failure too.
      if (stream) (value as Opened).breaker = breaker;
      else breaker?.success();
      router?.observe(d, stream ? 'ttft' : 'latency', attemptMs);
      return value;
    }
    const last = withRetryAfterHint(lastError, options.retry);
    // One deployment that really failed: its own error says it all. Otherwise name everything tried.
    if (tried.length === 1 && tried[0]?.outcome !== 'circuit_open') throw last;
    if (lastError !== undefined && !(lastError instanceof GatewayError && lastError.isRetryable)) throw last;
    if (ctx.abort.signal.aborted) throw last;
    throw new RouteUnavailableError(route.name, tried, last);
  }

  /** Whether a deployment after `d` in the order may serve (its breaker is not open). */
  function onwardOf(order: readonly Deployment[], d: Deployment): boolean {
    for (let i = order.indexOf(d) + 1; i < order.length; i++) {
      if (router?.breaker(order[i] as Deployment).state !== 'open') return true;
    }
    return false;
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

  /** A whole (non-stream) answer over the route; the `provider.generate` span ended either way. */
  async function generate(ctx: RequestContext, request: CanonicalRequest): Promise<JsonResult> {
    try {
      const value = await overRoute(ctx);
      const deployment = ctx.upstream.deployment;
      const result =
        request.kind === 'embeddings'
          ? embeddingResult(value as EmbeddingResponse, deployment)
          : completionResult(value as ChatCompletion, 'upstream', deployment);
      endGenerateSpan(ctx, undefined, result.outcome);
      return result;
    } catch (err) {
      endGenerateSpan(ctx, err);
      throw err;
    }
  }

  /**
   * A stream over the route, opened at its first substantive chunk. It goes on running on the controller
   * its attempt ran on (the request's): closing it unfinished retires that controller, cutting the upstream.
   */
  async function openStream(ctx: RequestContext): Promise<OpenedStream> {
    let opened: Opened;
    try {
      opened = (await overRoute(ctx)) as Opened;
    } catch (err) {
      endGenerateSpan(ctx, err);
      throw err;
    }
    const controller = ctx.abort;
    let closed = false;
    return {
      head: opened.head,
      rest: opened.rest,
      close(complete, error) {
        if (closed) return;
        closed = true;
        endStreamAttempt(opened, complete, error, controller.signal);
        // A completed stream keeps its connection for reuse; an unfinished one is cut.
        if (complete) return;
        retireAbort(ctx, controller, new ClientClosedError());
        void opened.rest.return?.();
      },
    };
  }

  async function answerStream(ctx: RequestContext): Promise<Result> {
    const opened = await openStream(ctx);
    return streamResult(opened, 'upstream', ctx.upstream.deployment, now);
  }

  // Not an async function: it hands back generate()'s or answerStream()'s own promise (no wrapper to resolve).
  return (ctx): Promise<Result> => {
    const request = ctx.request;
    if (!request) return Promise.reject(new Error('call stage reached without a decoded request'));
    // A body in another API's format rides along in `call.native` for the adapters that speak it.
    return request.stream ? answerStream(ctx) : generate(ctx, request);
  };
}

/** Logs a retry of the same deployment and counts its wait. */
function noteRetry(
  ctx: RequestContext,
  d: Deployment,
  n: number,
  delayMs: number,
  error: GatewayError,
): void {
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
}

/** The provider call an attempt makes for the request: a whole answer, an embedding list, a stream's opening. */
function invoke(
  d: Deployment,
  request: CanonicalRequest,
  progress: AttemptProgress,
  call: CallOptions,
): Promise<unknown> {
  if (request.kind === 'embeddings') return d.adapter.embed(request.body, call);
  if (!request.stream) return d.adapter.chat(request.body, call);
  return openHead(d, request.body, call, progress);
}

/**
 * `pending`'s outcome, or the signal's reason as soon as it aborts. The listener is left on the signal: it
 * lives no longer than the request (or the retired attempt), and fires at most once, on a settled promise.
 */
function untilAborted<T>(pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
    pending.then(resolve, reject);
  });
}

function ignore(): void {}

/**
 * A 429 always tells the client when to come back (DESIGN §3, `Retry-After` on 429). When the provider sent
 * no Retry-After, the hint is the gateway's own next backoff ceiling.
 */
function withRetryAfterHint(err: unknown, policy: RetryPolicy): unknown {
  if (!(err instanceof RateLimitError) || err.retryAfterMs !== undefined) return err;
  return new RateLimitError(err.message, err.provider, {
    param: err.param,
    upstreamStatus: err.upstreamStatus,
    upstreamType: err.upstreamType,
    retryAfterMs: backoffCeiling(policy.maxAttempts, policy),
    cause: err.cause,
  });
}

function retryAfterOf(err: unknown): number | null {
  return err instanceof GatewayError && err.retryAfterMs !== undefined ? err.retryAfterMs : null;
}

function errorCode(err: unknown): string {
  return err instanceof GatewayError ? err.code : 'internal_error';
}
