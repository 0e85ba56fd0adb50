/**
 * Per-request telemetry of the model routes (chat completions, embeddings): `llm_active_requests`,
 * `llm_requests_total`, `llm_request_duration_seconds`, `llm_time_to_first_token_seconds`, the
 * `gateway.request` span with its `auth` child, and the trace id on every log line of the request.
 *
 * It is driven by the server, not by a request hook: it must see every request of those routes, also the
 * ones refused before any hook runs (401 in auth, 400 for a body that is not JSON) or by another hook's
 * `admit` (429), which `finish` hooks of later features never see.
 *
 *   app onRequest → open() … finishRequest() → end()   (exactly once, whichever path ends the request)
 */
import type { FastifyBaseLogger } from 'fastify';
import { createContext, type RequestContext } from '../pipeline/context.js';
import type { RequestOutcome } from '../pipeline/hooks.js';
import { type BodyLogOptions, bodyFields } from './body-log.js';
import type { Metrics } from './metrics.js';
import type { ModelLabeler } from './model-label.js';
import {
  endGenerateSpan,
  genAiRequestAttributes,
  genAiResponseAttributes,
  recordError,
  recordSpan,
  requestTrace,
  type Tracing,
} from './tracing.js';

export interface RequestTelemetryOptions {
  metrics: Metrics;
  tracing: Tracing;
  modelLabel: ModelLabeler;
  /** Set when LOG_BODIES=true: prompt and completion go into `request.end`. */
  bodies: BodyLogOptions | null;
}

/** What `open` needs of the incoming request. */
export interface IncomingRequest {
  id: string;
  log: FastifyBaseLogger;
  method: string;
  route: string;
  traceparent: string | undefined;
}

export interface RequestTelemetry {
  /**
   * Creates the context of a model request, opens its trace and counts it active. The returned context's
   * logger carries `trace_id` when the request is traced; use it as the request's logger.
   */
  open(request: IncomingRequest, startedAt: number): RequestContext;
  /** Ends the request's metrics and spans (idempotent; never throws). */
  end(ctx: RequestContext, outcome: RequestOutcome): void;
  /** `prompt` / `completion` log fields when body logging is on, else an empty object. */
  logFields(ctx: RequestContext): Record<string, unknown>;
}

const TELEMETRY = 'telemetry';

/** The telemetry that opened this context, if any (model routes only). */
export function telemetryOf(ctx: RequestContext): RequestTelemetry | null {
  return (ctx.hookState[TELEMETRY] as RequestTelemetry | undefined) ?? null;
}

/** Creates the request telemetry of one gateway. */
export function createRequestTelemetry(options: RequestTelemetryOptions): RequestTelemetry {
  const { metrics, tracing, modelLabel } = options;
  const telemetry: RequestTelemetry = {
    open(request, startedAt) {
      let log = request.log;
      let rt = null;
      if (tracing.enabled) {
        rt = tracing.startRequest(startedAt, request.traceparent, {
          'http.request.method': request.method,
          'http.route': request.route,
          'gateway.request_id': request.id,
        });
        if (rt) log = log.child({ trace_id: rt.traceId, span_id: rt.root.spanContext().spanId });
      }
      const ctx = createContext(request.id, log, startedAt);
      if (rt) ctx.hookState.tracing = rt;
      ctx.hookState[TELEMETRY] = telemetry;
      metrics.activeRequests.inc();
      log.debug(
        { event: 'request.start', method: request.method, route: request.route, traced: rt !== null },
        'request started',
      );
      return ctx;
    },

    end(ctx, outcome) {
      if (ctx.hookState.telemetryEnded === true) return;
      ctx.hookState.telemetryEnded = true;
      try {
        const now = performance.now();
        const model = modelLabel(ctx.model);
        const provider = ctx.deployment?.provider ?? 'none';
        metrics.activeRequests.dec();
        metrics.requests.inc({
          model,
          status: String(outcome.status),
          cache_status: ctx.cache.status ? ctx.cache.status.toLowerCase() : 'none',
          provider,
        });
        metrics.requestDuration.observe({ model, provider }, (now - ctx.startedAt) / 1000);
        if (ctx.firstTokenAt !== null) {
          metrics.timeToFirstToken.observe({ model, provider }, (ctx.firstTokenAt - ctx.startedAt) / 1000);
        }
        endTrace(ctx, outcome, now);
      } catch (err) {
        ctx.log.error({ event: 'telemetry.error', err }, 'request telemetry failed');
      }
    },

    logFields(ctx) {
      return options.bodies ? bodyFields(ctx, options.bodies) : {};
    },
  };
  return telemetry;
}

/** Closes the request's spans: `auth`, a still open `provider.generate` (streams), `gateway.request`. */
function endTrace(ctx: RequestContext, outcome: RequestOutcome, now: number): void {
  const rt = requestTrace(ctx);
  if (rt === null || rt.ended) return;
  const authFailed = outcome.error?.status === 401 && ctx.principal === null;
  // Auth runs first, right after the request arrived (server/app.ts times it).
  recordSpan(
    ctx,
    'auth',
    ctx.startedAt,
    ctx.startedAt + ctx.timings.auth,
    authFailed ? outcome.error : undefined,
  );
  endGenerateSpan(ctx, outcome.complete ? undefined : (outcome.error ?? undefined));
  rt.ended = true;
  const root = rt.root;
  root.setAttributes({
    ...genAiRequestAttributes(ctx),
    ...genAiResponseAttributes(ctx),
    'http.response.status_code': outcome.status,
    'gateway.stream': ctx.stream,
    'gateway.attempts': ctx.attempts,
    'gateway.fallback_count': ctx.fallbackCount,
    'gateway.cache_status': ctx.cache.status ?? 'NONE',
  });
  if (ctx.costUsd !== null) root.setAttribute('gateway.cost_usd', ctx.costUsd);
  if (outcome.error) recordError(root, outcome.error);
  root.end(performance.timeOrigin + now);
}
