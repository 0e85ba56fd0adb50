/**
 * Response headers built from the request context: X-Request-ID, X-Provider, X-Model, X-Fallback-Count and
 * Server-Timing (the gateway's own stages, so anyone can see its overhead per request).
 */
import type { RequestContext } from '../pipeline/context.js';

/** `Server-Timing` value: auth, resolve, upstream (time to first byte), gateway (total − upstream), total. */
export function serverTiming(ctx: RequestContext, now: number): string {
  const total = now - ctx.startedAt;
  const t = ctx.timings;
  const gateway = Math.max(0, total - t.upstream);
  return `auth;dur=${ms(t.auth)}, resolve;dur=${ms(t.resolve)}, upstream;dur=${ms(t.upstream)};desc="ttfb", gateway;dur=${ms(gateway)}, total;dur=${ms(total)}`;
}

function ms(value: number): string {
  return value.toFixed(3);
}

/** Headers that say who served a completion. */
export function routingHeaders(ctx: RequestContext): Record<string, string> {
  const headers: Record<string, string> = {};
  if (ctx.deployment) {
    headers['x-provider'] = ctx.deployment.provider;
    headers['x-model'] = ctx.servedModel ?? ctx.deployment.model;
  }
  if (ctx.fallbackCount > 0) headers['x-fallback-count'] = String(ctx.fallbackCount);
  return headers;
}
