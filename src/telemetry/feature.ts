/**
 * The observability feature: keeps completions for the log when `LOG_BODIES=true` (wraps the pipeline
 * only then) and flushes the tracer on shutdown. Request metrics and spans are driven by the server
 * (request-telemetry.ts), provider attempts by the pipeline (provider-attempt.ts).
 */
import type { Feature, GatewayServices } from '../gateway.js';
import { captureCompletions } from './body-log.js';
import type { Tracing } from './tracing.js';

/** Creates the feature; add it last to the features list so its flush runs after the others closed. */
export function createObservabilityFeature(services: GatewayServices, tracing: Tracing): Feature {
  const { log, telemetry } = services.config;
  return {
    name: 'observability',
    ...(log.bodies
      ? { wrapPipeline: (inner) => captureCompletions(inner, telemetry.log_body_max_chars) }
      : {}),
    async close() {
      await tracing.shutdown();
    },
  };
}
