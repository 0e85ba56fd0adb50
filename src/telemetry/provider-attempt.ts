/**
 * Instruments one upstream attempt (called from `attempt()` in pipeline/call.ts): the
 * `llm_provider_api_duration_seconds` histogram, `llm_provider_errors_total`, and — when the request is
 * traced — a `provider.api_call` span under `provider.generate` whose id travels upstream as `traceparent`.
 * A stream's attempt is timed at its first chunk but ends with the stream: a failure after the first chunk
 * (cut, error event, idle timeout) is counted and marks the span like one before it (decision 0222).
 */
import { SpanKind } from '@opentelemetry/api';
import { type RequestContext, requestedModel } from '../core/context.js';
import { GatewayError, ProviderError } from '../core/errors.js';
import { type Deployment, genAiProvider } from '../routing/resolver.js';
import type { Metrics } from './metrics.js';
import { endSpan, generateContext, requestTrace, traceHeadersOf } from './tracing.js';

/** One attempt in flight. */
export interface AttemptProbe {
  /** W3C traceparent to send upstream; undefined when the request is not traced. */
  readonly traceparent: string | undefined;
  /** W3C tracestate to send upstream with it (the client's); undefined when there is none. */
  readonly tracestate: string | undefined;
  /**
   * A stream's first substantive chunk arrived: its duration is observed now, while the attempt (its
   * span, its error count) stays open until the stream ends with `end`.
   */
  opened(): void;
  /** Ends the attempt: null on success, else the error it failed with. Idempotent. */
  end(error: unknown): void;
}

export interface AttemptInstrumentation {
  start(ctx: RequestContext, d: Deployment): AttemptProbe;
}

/** Creates the instrumentation the pipeline calls around each upstream attempt. */
export function createAttemptInstrumentation(metrics: Metrics, now: () => number): AttemptInstrumentation {
  return {
    start(ctx, d) {
      const started = now();
      const rt = requestTrace(ctx);
      const span =
        rt === null
          ? null
          : rt.tracer.startSpan(
              'provider.api_call',
              {
                kind: SpanKind.CLIENT,
                attributes: {
                  'gen_ai.operation.name': ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat',
                  'gen_ai.system': genAiProvider(d),
                  'gen_ai.provider.name': genAiProvider(d),
                  'gateway.provider': d.provider,
                  'gen_ai.request.model': d.model,
                  'gateway.deployment': d.id,
                  'gateway.attempt': ctx.upstream.attempts,
                },
              },
              generateContext(rt, {
                'gen_ai.operation.name': ctx.endpoint === 'embeddings' ? 'embeddings' : 'chat',
                'gen_ai.request.model': requestedModel(ctx) ?? '',
              }),
            );
      const propagated = rt && span ? traceHeadersOf(rt, span) : undefined;
      let timed = false;
      let done = false;
      const provider = d.provider;
      const time = (): void => {
        timed = true;
        metrics.providerDuration.observe({ provider }, (now() - started) / 1000);
      };
      return {
        traceparent: propagated?.traceparent,
        tracestate: propagated?.tracestate,
        opened() {
          if (!timed) time();
        },
        end(error) {
          if (done) return;
          done = true;
          if (!timed) time();
          const code = error instanceof GatewayError ? error.code : error ? 'internal_error' : null;
          // A client that hung up is not a provider failure.
          if (code !== null && code !== 'client_closed') metrics.providerErrors.inc({ provider, code });
          if (span) {
            const status = error instanceof ProviderError ? error.upstreamStatus : undefined;
            if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
            endSpan(span, error ?? undefined);
          }
        },
      };
    },
  };
}
