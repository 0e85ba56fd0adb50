/**
 * Per-request telemetry of the pipeline's endpoints (chat completions, embeddings), as a feature:
 *
 * - the `telemetry` open step (when the request arrives, before its body is read): opens the
 *   `gateway.request` span (child of the client's `traceparent`), puts the trace id on the request's logger
 *   and counts the request in `llm_active_requests`;
 * - the `telemetry` settle step (last): `llm_requests_total`, `llm_request_duration_seconds`,
 *   `llm_time_to_first_token_seconds`, the `auth` span, the end of `provider.generate` and
 *   `gateway.request`, and the `request.end` log line (DESIGN §9). Settle runs for every request of these
 *   endpoints, also the ones refused before the pipeline ran (a body over the limit) or by a stage.
 */
import type { Clock } from '../core/clock.js';
import {
  type RequestContext,
  requestedModel,
  Slot,
  servedModel,
  servingDeployment,
} from '../core/context.js';
import type { GatewayError } from '../core/errors.js';
import type { Feature } from '../core/feature.js';
import type { OpenStep, SettleStep } from '../core/stage.js';
import { type BodyLogOptions, bodyFields } from './body-log.js';
import {
  createLineWriter,
  type LineLevel,
  type LineValue,
  type LineWriter,
  levelEnabled,
} from './log-line.js';
import type { Redactor } from './logger.js';
import type { Metrics } from './metrics.js';
import type { ModelLabeler } from './model-label.js';
import {
  endGenerateSpan,
  genAiRequestAttributes,
  genAiResponseAttributes,
  recordError,
  recordSpan,
  requestTrace,
  TRACE,
  type Tracing,
} from './tracing.js';

export interface RequestTelemetryOptions {
  metrics: Metrics;
  tracing: Tracing;
  modelLabel: ModelLabeler;
  clock: Clock;
  redact: Redactor;
  /** Set when LOG_BODIES=true: prompt and completion go into `request.end`. */
  bodies: BodyLogOptions | null;
}

export interface TelemetryFeature extends Feature {
  readonly open: OpenStep;
  readonly settle: SettleStep;
}

/** `llm_requests_total`'s cache_status label (lower case, without a string built per request). */
const CACHE_STATUS_LABEL = { HIT: 'hit', MISS: 'miss', BYPASS: 'bypass' } as const;

/** Set once the request was counted in `llm_active_requests` (so it is uncounted exactly once). */
const ACTIVE = new Slot<true>('telemetry.active');

/** Creates the telemetry feature; its `close` flushes the tracer (keep it last among features). */
export function createTelemetryFeature(options: RequestTelemetryOptions): TelemetryFeature {
  const { metrics, tracing, modelLabel, clock } = options;
  const endLine = createRequestEndWriter();
  return {
    name: 'observability',
    open: {
      name: 'telemetry',
      open(ctx) {
        if (tracing.enabled) {
          const rt = tracing.startRequest(ctx.startedAt, ctx.headers, {
            'http.request.method': 'POST',
            'http.route': ctx.path,
            'gateway.request_id': ctx.requestId,
            ...(ctx.clientRequestId === null ? {} : { 'gateway.client_request_id': ctx.clientRequestId }),
          });
          if (rt) {
            TRACE.set(ctx, rt);
            ctx.log = ctx.log.child({ trace_id: rt.traceId, span_id: rt.root.spanContext().spanId });
          }
        }
        ACTIVE.set(ctx, true);
        metrics.activeRequests.inc();
        // Guarded: the fields object would be built per request even with debug logs off.
        if (levelEnabled(ctx.log, 'debug')) {
          ctx.log.debug(
            { event: 'request.start', method: 'POST', route: ctx.path, traced: requestTrace(ctx) !== null },
            'request started',
          );
        }
      },
    },
    settle: {
      name: 'telemetry',
      settle(ctx) {
        const now = clock.now();
        try {
          const model = modelLabel(requestedModel(ctx));
          const provider = servingDeployment(ctx)?.provider ?? 'none';
          const status = ctx.end?.status ?? 500;
          if (ACTIVE.get(ctx)) metrics.activeRequests.dec();
          metrics.requests.inc({
            model,
            status: String(status),
            cache_status: ctx.cache.status ? CACHE_STATUS_LABEL[ctx.cache.status] : 'none',
            provider,
          });
          metrics.requestDuration.observe({ model, provider }, (now - ctx.startedAt) / 1000);
          const firstToken = ctx.outcome?.firstTokenAt ?? null;
          if (firstToken !== null) {
            metrics.timeToFirstToken.observe({ model, provider }, (firstToken - ctx.startedAt) / 1000);
          }
          endTrace(ctx, now);
        } catch (err) {
          ctx.log.error({ event: 'telemetry.error', err }, 'request telemetry failed');
        }
        logRequestEnd(ctx, now, options, endLine);
      },
    },
    close: () => tracing.shutdown(),
  };
}

/** Closes the request's spans: `auth`, a still open `provider.generate` (streams), `gateway.request`. */
function endTrace(ctx: RequestContext, now: number): void {
  const rt = requestTrace(ctx);
  if (rt === null || rt.ended) return;
  const end = ctx.end;
  const error = end?.error ?? null;
  const authFailed = error?.status === 401 && ctx.principal === null;
  // Auth runs first, right after the request arrived.
  recordSpan(ctx, 'auth', ctx.startedAt, ctx.startedAt + ctx.timings.auth, authFailed ? error : undefined);
  endGenerateSpan(ctx, end?.complete ? undefined : (error ?? undefined));
  rt.ended = true;
  const root = rt.root;
  root.setAttributes({
    ...genAiRequestAttributes(ctx),
    ...genAiResponseAttributes(ctx),
    'http.response.status_code': end?.status ?? 500,
    'gateway.stream': ctx.request?.stream === true,
    'gateway.attempts': ctx.upstream.attempts,
    'gateway.fallback_count': ctx.upstream.fallbackCount,
    'gateway.cache_status': ctx.cache.status ?? 'NONE',
  });
  if (ctx.costUsd !== null) root.setAttribute('gateway.cost_usd', ctx.costUsd);
  if (error) recordError(root, error);
  root.end(performance.timeOrigin + now);
}

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** The keys of `request.end`, in the order they are written (the line writer encodes only these itself). */
const REQUEST_END_KEYS = [
  'event',
  'status',
  'duration_ms',
  'model',
  'stream',
  'provider',
  'upstream_model',
  'user_id',
  'attempts',
  'fallback_count',
  'finish_reason',
  'input_tokens',
  'output_tokens',
  'total_tokens',
  'ttft_ms',
  'cache_status',
  'cache_type',
  'cost_usd',
  'error_code',
  'error_message',
  // `cause` (internal errors only) is an object: those lines are written by pino.
  'prompt',
  'completion',
] as const;

/** Creates the `request.end` line writer (its checks of the logger's options are cached per writer). */
export const createRequestEndWriter = (): LineWriter => createLineWriter(REQUEST_END_KEYS);

/**
 * Logs `request.end` with status, duration, route and tokens; errors at warn (4xx) or error (5xx). The line
 * is serialised by `line` (same JSON as pino's, see log-line.ts), except an internal error's, which carries
 * its cause as an object and goes through pino.
 */
function logRequestEnd(
  ctx: RequestContext,
  now: number,
  options: RequestTelemetryOptions,
  line: LineWriter,
): void {
  const end = ctx.end;
  const status = end?.status ?? 500;
  const error: GatewayError | null = end?.error ?? null;
  const deployment = servingDeployment(ctx);
  const firstToken = ctx.outcome?.firstTokenAt ?? null;
  const fields: Record<(typeof REQUEST_END_KEYS)[number], LineValue> = {
    event: 'request.end',
    status,
    duration_ms: round3(now - ctx.startedAt),
    model: requestedModel(ctx),
    stream: ctx.request?.stream === true,
    provider: deployment?.provider ?? null,
    upstream_model: servedModel(ctx) ?? deployment?.model ?? null,
    user_id: ctx.principal?.userId ?? null,
    attempts: ctx.upstream.attempts,
    fallback_count: ctx.upstream.fallbackCount,
    finish_reason: ctx.outcome?.finishReason ?? null,
    input_tokens: ctx.usage?.prompt_tokens ?? null,
    output_tokens: ctx.usage?.completion_tokens ?? null,
    total_tokens: ctx.usage?.total_tokens ?? null,
    ttft_ms: firstToken === null ? null : round3(firstToken - ctx.startedAt),
    cache_status: ctx.cache.status,
    cache_type: ctx.cache.type,
    cost_usd: ctx.costUsd,
    error_code: error?.code ?? null,
    error_message: error ? options.redact(error.message) : null,
    // Prompt and completion, only with LOG_BODIES=true (scrubbed and capped); left out when undefined.
    prompt: undefined,
    completion: undefined,
  };
  if (options.bodies) {
    const bodies = bodyFields(ctx, options.bodies);
    fields.prompt = bodies.prompt;
    fields.completion = bodies.completion;
  }
  // A 503 while shutting down is expected, not a failure of the gateway.
  const [level, msg]: [LineLevel, string] =
    error && status >= 500 && error.code !== 'service_unavailable'
      ? ['error', 'request failed']
      : error
        ? ['warn', 'request rejected']
        : ['info', 'request completed'];
  if (error?.code === 'internal_error') {
    // An internal error's body says "the request id identifies it in the logs": this is where.
    const { prompt, completion, ...rest } = fields;
    ctx.log[level]({ ...rest, cause: describeCause(error.cause, options.redact), prompt, completion }, msg);
    return;
  }
  line.write(ctx.log, level, fields, msg);
}

/** What went wrong inside, for the log: type, message and stack, scrubbed of secrets. */
function describeCause(cause: unknown, redact: Redactor): { type: string; message: string; stack?: string } {
  if (cause instanceof Error) {
    return {
      type: cause.name,
      message: redact(cause.message),
      ...(cause.stack ? { stack: redact(cause.stack) } : {}),
    };
  }
  return { type: typeof cause, message: redact(String(cause)) };
}
