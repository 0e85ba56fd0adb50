/**
 * The request's end log event (DESIGN §9; `request.start` is logged by telemetry/request-telemetry.ts at
 * debug). Prompts and completions only when LOG_BODIES=true.
 */
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import type { HookRunner, RequestOutcome } from '../pipeline/hooks.js';
import type { Redactor } from '../telemetry/logger.js';
import { telemetryOf } from '../telemetry/request-telemetry.js';

/**
 * Ends a request once: runs the `finish` hooks (for requests that reached a model route) and logs
 * `request.end`.
 */
export function finishRequest(
  ctx: RequestContext,
  hooks: HookRunner,
  outcome: RequestOutcome,
  redact: Redactor,
): void {
  if (ctx.kind !== null) hooks.finish(ctx, outcome);
  // After the hooks: cost and cache outcome are known by now.
  telemetryOf(ctx)?.end(ctx, outcome);
  logRequestEnd(ctx, outcome.status, outcome.error, redact);
}

/** Logs `request.end` with status, duration, route and tokens; errors at warn (4xx) or error (5xx). */
export function logRequestEnd(
  ctx: RequestContext,
  status: number,
  error: GatewayError | null,
  redact: Redactor,
): void {
  const fields = {
    event: 'request.end',
    status,
    duration_ms: Math.round((performance.now() - ctx.startedAt) * 1000) / 1000,
    model: ctx.model,
    stream: ctx.stream,
    provider: ctx.deployment?.provider ?? null,
    upstream_model: ctx.servedModel ?? ctx.deployment?.model ?? null,
    user_id: ctx.principal?.userId ?? null,
    attempts: ctx.attempts,
    fallback_count: ctx.fallbackCount,
    finish_reason: ctx.finishReason,
    input_tokens: ctx.usage?.prompt_tokens ?? null,
    output_tokens: ctx.usage?.completion_tokens ?? null,
    total_tokens: ctx.usage?.total_tokens ?? null,
    ttft_ms: ctx.firstTokenAt === null ? null : Math.round((ctx.firstTokenAt - ctx.startedAt) * 1000) / 1000,
    cache_status: ctx.cache.status,
    cache_type: ctx.cache.type,
    cost_usd: ctx.costUsd,
    error_code: error?.code ?? null,
    error_message: error ? redact(error.message) : null,
    // An internal error's body says "the request id identifies it in the logs": this is where.
    ...(error?.code === 'internal_error' ? { cause: describeCause(error.cause, redact) } : {}),
    // Prompt and completion, only with LOG_BODIES=true (scrubbed and capped).
    ...telemetryOf(ctx)?.logFields(ctx),
  };
  // A 503 while shutting down is expected, not a failure of the gateway.
  if (error && status >= 500 && error.code !== 'service_unavailable') ctx.log.error(fields, 'request failed');
  else if (error) ctx.log.warn(fields, 'request rejected');
  else ctx.log.info(fields, 'request completed');
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
