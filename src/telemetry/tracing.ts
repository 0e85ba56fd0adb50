/**
 * OpenTelemetry tracing (DESIGN §9). Off unless an OTLP endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`):
 * then no SDK module is even loaded, every call below returns at its first line and nothing is allocated
 * per request. On, each model request gets the span tree
 *
 *   gateway.request → auth, rate_limit.check, cache.lookup, provider.generate → provider.api_call (per attempt),
 *                     cost.calculate, cost.record
 *
 * Spans hang off the request context (the `TRACE` slot), not an async-local "active span": a stage
 * names the request it works for, so no context manager or global provider is registered.
 *
 * Features create their own stage spans with `withSpan` / `startChildSpan`, which are no-ops when tracing
 * is off:
 *
 * @example
 * const hit = await withSpan(ctx, 'cache.lookup', () => store.get(key), { 'gateway.cache.type': 'exact' });
 * const span = startChildSpan(ctx, 'rate_limit.check'); try { … } finally { span.end(); }
 */
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Clock } from '../core/clock.js';
import {
  type RequestContext,
  requestedModel,
  Slot,
  servedModel,
  servingDeployment,
} from '../core/context.js';
import type { Outcome } from '../core/result.js';
import { genAiProvider } from '../routing/resolver.js';
import type { Logger, Redactor } from './logger.js';
import type { Metrics } from './metrics.js';

export interface TracingOptions {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`. null = off. */
  endpoint: string | null;
  serviceName: string;
  serviceVersion: string;
  /** Tests: export here (synchronously, no batching) instead of OTLP; turns tracing on. */
  exporter?: SpanExporter;
  /** Scrubs secrets from every exported span's attributes, status and events (as from logs). */
  redact?: Redactor;
}

/** The process's tracer, or the disabled stand-in. */
export interface Tracing {
  readonly enabled: boolean;
  /**
   * Opens `gateway.request` for a request: a child of the client's `traceparent` when valid, carrying its
   * `tracestate` on (W3C Trace Context §3.3). `headers`: the request's (read as the propagator's carrier).
   */
  startRequest(
    startedAt: number,
    headers: TraceCarrier | undefined,
    attributes: Attributes,
  ): RequestTrace | null;
  /** Exports what is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops exporting (shutdown). */
  shutdown(): Promise<void>;
}

/** Request headers as the W3C propagator reads them (`traceparent`, `tracestate`; lower-case names). */
export type TraceCarrier = Readonly<Record<string, string | string[] | undefined>>;

/** What goes upstream with an attempt: its span as W3C `traceparent`, and the trace's `tracestate`. */
export interface TraceHeaders {
  traceparent: string | undefined;
  tracestate: string | undefined;
}

/** One request's spans, kept in the request's `TRACE` slot (see request-telemetry.ts). */
export interface RequestTrace {
  readonly traceId: string;
  readonly root: Span;
  readonly rootContext: Context;
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** `provider.generate`, opened by the first upstream attempt. */
  generate: { span: Span; context: Context } | null;
  ended: boolean;
}

/** A span handle that is safe to use whether tracing is on or off. */
export interface SpanHandle {
  setAttributes(attributes: Attributes): void;
  /** Ends the span; an error marks it ERROR and records an exception event. */
  end(error?: unknown): void;
}

const NOOP_SPAN: SpanHandle = { setAttributes() {}, end() {} };

const DISABLED: Tracing = {
  enabled: false,
  startRequest: () => null,
  flush: async () => undefined,
  shutdown: async () => undefined,
};

/** performance.now() → epoch milliseconds, the time input OpenTelemetry takes. */
export function epochMs(perfNow: number): number {
  return performance.timeOrigin + perfNow;
}

/** The request's trace, when tracing is on and the request is traced. */
export function requestTrace(ctx: RequestContext): RequestTrace | null {
  return TRACE.get(ctx) ?? null;
}

/** The slot holding a traced request's spans (set by the telemetry stage). */
export const TRACE = new Slot<RequestTrace>('telemetry.trace');

/**
 * Creates the tracer. Loads the OpenTelemetry SDK and exporter only when tracing is on.
 * A failing exporter (collector down) counts `llm_dependency_errors_total{dependency="tracing"}` and logs a
 * warning at most once a minute; requests never wait for it (spans are batched and dropped when the
 * buffer is full).
 */
export async function createTracing(
  options: TracingOptions,
  deps: { metrics: Metrics; logger: Logger; clock: Pick<Clock, 'now'> },
): Promise<Tracing> {
  if (!options.endpoint && !options.exporter) return DISABLED;
  const [sdk, core, resources, semconv] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/core'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
  ]);
  let processor: InstanceType<typeof sdk.BatchSpanProcessor> | InstanceType<typeof sdk.SimpleSpanProcessor>;
  if (options.exporter) {
    processor = new sdk.SimpleSpanProcessor(options.exporter);
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    const url = `${String(options.endpoint).replace(/\/+$/, '')}/v1/traces`;
    const exporter = countingExporter(new OTLPTraceExporter({ url, timeoutMillis: 5_000 }), {
      ...deps,
      success: core.ExportResultCode.SUCCESS,
    });
    processor = new sdk.BatchSpanProcessor(exporter, { maxQueueSize: 4096, scheduledDelayMillis: 2_000 });
  }
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: options.serviceName,
      [semconv.ATTR_SERVICE_VERSION]: options.serviceVersion,
    }),
    // The scrubber runs first: a span's strings are clean before the exporting processor sees it.
    spanProcessors: options.redact ? [redactingProcessor(options.redact), processor] : [processor],
  });
  const tracer = provider.getTracer('llm-gateway', options.serviceVersion);
  const propagator = new core.W3CTraceContextPropagator();

  return {
    enabled: true,
    startRequest(startedAt, headers, attributes) {
      const parent = headers?.traceparent
        ? propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter)
        : ROOT_CONTEXT;
      const root = tracer.startSpan(
        'gateway.request',
        { kind: SpanKind.SERVER, startTime: epochMs(startedAt), attributes },
        parent,
      );
      return {
        traceId: root.spanContext().traceId,
        root,
        rootContext: trace.setSpan(parent, root),
        tracer,
        propagator,
        generate: null,
        ended: false,
      };
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/**
 * A processor that scrubs secrets from a span as it ends, before the exporting processor takes it: error
 * messages (a provider may echo its key, a client may send a gateway key as a model name or request id)
 * land in `status.message`, `exception.message` and string attributes. Spans are the SDK's own mutable
 * objects until exported; only strings that change are replaced. Off the request path's hot part: runs
 * only when tracing is on, once per span.
 */
function redactingProcessor(redact: Redactor): SpanProcessor {
  const scrub = (attributes: Attributes): void => {
    for (const name in attributes) {
      const value = attributes[name];
      if (typeof value === 'string') {
        const clean = redact(value);
        if (clean !== value) attributes[name] = clean;
      } else if (Array.isArray(value) && value.some((v) => typeof v === 'string')) {
        attributes[name] = value.map((v) => (typeof v === 'string' ? redact(v) : v)) as typeof value;
      }
    }
  };
  return {
    onStart() {},
    onEnd(span: ReadableSpan) {
      scrub(span.attributes as Attributes);
      const status = span.status as { message?: string };
      if (status.message) status.message = redact(status.message);
      for (const event of span.events) if (event.attributes) scrub(event.attributes as Attributes);
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
}

/** Wraps an exporter so failed exports are counted and logged (rate-limited), never thrown. */
function countingExporter(
  inner: SpanExporter,
  deps: { metrics: Metrics; logger: Logger; clock: Pick<Clock, 'now'>; success: number },
): SpanExporter {
  let lastWarn = Number.NEGATIVE_INFINITY;
  return {
    export(spans, done) {
      inner.export(spans, (result) => {
        if (result.code !== deps.success) {
          deps.metrics.dependencyErrors.inc({ dependency: 'tracing' });
          const now = deps.clock.now();
          if (now - lastWarn > 60_000) {
            lastWarn = now;
            deps.logger.warn(
              { event: 'dependency.error', dependency: 'tracing', err: result.error?.message },
              'could not export spans; requests go on without tracing',
            );
          }
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

function handle(span: Span): SpanHandle {
  return {
    setAttributes: (attributes) => void span.setAttributes(attributes),
    end: (error) => endSpan(span, error),
  };
}

/** Ends a span, recording an error (status ERROR + exception event) when one is given. */
export function endSpan(span: Span, error?: unknown, endTime?: number): void {
  if (error !== undefined && error !== null) recordError(span, error);
  span.end(endTime);
}

/** Marks a span failed: status ERROR with the error's message, and an `exception` event. */
export function recordError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as { code?: unknown }).code;
  span.recordException({
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { code } : {}),
  });
  span.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
  if (typeof code === 'string') span.setAttribute('error.type', code);
}

/**
 * Opens a child of `gateway.request` for one stage (`rate_limit.check`, `cache.lookup`, `cost.record` …).
 * Returns a no-op handle when the request is not traced.
 */
export function startChildSpan(ctx: RequestContext, name: string, attributes?: Attributes): SpanHandle {
  const rt = requestTrace(ctx);
  if (rt === null || rt.ended) return NOOP_SPAN;
  return handle(rt.tracer.startSpan(name, { attributes }, rt.rootContext));
}

/** Runs `fn` inside a child span of `gateway.request`; a thrown error is recorded and rethrown. */
export async function withSpan<T>(
  ctx: RequestContext,
  name: string,
  fn: (span: SpanHandle) => T | Promise<T>,
  attributes?: Attributes,
): Promise<T> {
  const span = startChildSpan(ctx, name, attributes);
  try {
    const value = await fn(span);
    span.end();
    return value;
  } catch (err) {
    span.end(err);
    throw err;
  }
}

/**
 * Records a stage that already happened (start and end known as performance.now() values), e.g. `auth`,
 * which runs before the request's route is known.
 */
export function recordSpan(
  ctx: RequestContext,
  name: string,
  startedAt: number,
  endedAt: number,
  error?: unknown,
): void {
  const rt = requestTrace(ctx);
  if (rt === null) return;
  const span = rt.tracer.startSpan(name, { startTime: epochMs(startedAt) }, rt.rootContext);
  endSpan(span, error, epochMs(endedAt));
}

/** Opens `provider.generate` (once per request) and returns its context, the parent of each attempt. */
export function generateContext(rt: RequestTrace, attributes: Attributes): Context {
  if (rt.generate === null) {
    const span = rt.tracer.startSpan('provider.generate', { attributes }, rt.rootContext);
    rt.generate = { span, context: trace.setSpan(rt.rootContext, span) };
  }
  return rt.generate.context;
}

/**
 * Ends `provider.generate` if open (idempotent), with the answer's `gen_ai.*` attributes: the pipeline calls
 * it when a non-stream answer arrived or every attempt failed; a stream's ends with the request.
 */
export function endGenerateSpan(ctx: RequestContext, error?: unknown, outcome?: Outcome): void {
  const rt = requestTrace(ctx);
  if (!rt?.generate?.span.isRecording()) return;
  rt.generate.span.setAttributes(genAiResponseAttributes(ctx, outcome));
  endSpan(rt.generate.span, error);
}

/** OpenTelemetry's `gen_ai.operation.name` of the inbound APIs that are not chat. */
const OPERATION: Partial<Record<RequestContext['endpoint'], string>> = {
  embeddings: 'embeddings',
  completions: 'text_completion',
};

/** `gen_ai.*` attributes of the request as asked (model, max tokens, temperature, top_p). */
export function genAiRequestAttributes(ctx: RequestContext): Attributes {
  const attributes: Attributes = {
    'gen_ai.operation.name': OPERATION[ctx.endpoint] ?? 'chat',
  };
  const model = requestedModel(ctx);
  if (model) attributes['gen_ai.request.model'] = model;
  const body = (ctx.request?.body ?? null) as Record<string, unknown> | null;
  if (body) {
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    if (typeof maxTokens === 'number') attributes['gen_ai.request.max_tokens'] = maxTokens;
    if (typeof body.temperature === 'number') attributes['gen_ai.request.temperature'] = body.temperature;
    if (typeof body.top_p === 'number') attributes['gen_ai.request.top_p'] = body.top_p;
  }
  return attributes;
}

/** `gen_ai.*` attributes of the answer: who served, which model, tokens, finish reason. */
export function genAiResponseAttributes(
  ctx: RequestContext,
  outcome: Outcome | null = ctx.outcome,
): Attributes {
  const attributes: Attributes = {};
  const deployment = outcome?.deployment ?? servingDeployment(ctx);
  if (deployment) {
    const name = genAiProvider(deployment);
    attributes['gen_ai.system'] = name;
    attributes['gen_ai.provider.name'] = name;
    attributes['gateway.provider'] = deployment.provider;
  }
  const served = outcome?.servedModel ?? servedModel(ctx);
  if (served) attributes['gen_ai.response.model'] = served;
  const usage = ctx.usage ?? outcome?.usage ?? null;
  if (usage) {
    attributes['gen_ai.usage.input_tokens'] = usage.prompt_tokens;
    attributes['gen_ai.usage.output_tokens'] = usage.completion_tokens;
  }
  const finish = outcome?.finishReason;
  if (finish) attributes['gen_ai.response.finish_reasons'] = [finish];
  return attributes;
}

/**
 * The W3C headers that make the upstream's spans children of `span`: `traceparent`, and `tracestate` when
 * the trace has one (the client's, passed on: spans inherit their parent's trace state).
 */
export function traceHeadersOf(rt: RequestTrace, span: Span): TraceHeaders {
  const carrier: Record<string, string> = {};
  rt.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  return { traceparent: carrier.traceparent, tracestate: carrier.tracestate };
}
