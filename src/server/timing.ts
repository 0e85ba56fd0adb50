/**
 * Response headers built from the request context: X-Provider, X-Model, X-Fallback-Count and
 * Server-Timing (the gateway's own stages, so anyone can see its overhead per request).
 */
import { type RequestContext, servedModel, servingDeployment } from '../core/context.js';

/**
 * `Server-Timing` value: auth, resolve, cache (lookups), upstream (all attempts, to the answer or a stream's
 * first chunks), wait (between attempts), gateway (all but upstream and wait: the gateway's own overhead,
 * its stages included) and total. `now` is the clock's monotonic now.
 */
export function serverTiming(ctx: RequestContext, now: number): string {
  const total = now - ctx.startedAt;
  const t = ctx.timings;
  const gateway = Math.max(0, total - t.upstream - t.wait);
  return `auth;dur=${ms(t.auth)}, resolve;dur=${ms(t.resolve)}, cache;dur=${ms(t.cache)}, upstream;dur=${ms(t.upstream)};desc="ttfb", wait;dur=${ms(t.wait)}, gateway;dur=${ms(gateway)}, total;dur=${ms(total)}`;
}

function ms(value: number): string {
  return value.toFixed(3);
}

/** What Fastify sets for a JSON body; every JSON answer of the pipeline routes carries it. */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** The headers of a streamed (SSE) answer, besides `answerHeaders`. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

/**
 * The headers every pipeline answer carries (JSON, stream or error), from its context: the stages' own
 * (`ctx.responseHeaders`), who served it (`routingHeaders`) and Server-Timing up to `now`.
 */
export function answerHeaders<H extends Record<string, string | number>>(
  ctx: RequestContext,
  now: number,
  /** Added to this object (the caller's own headers first), in this order; a new one by default. */
  into: H = {} as H,
): H {
  const headers = into as Record<string, string | number>;
  const own = ctx.responseHeaders;
  for (const name in own) headers[name] = own[name] as string;
  routingHeaders(ctx, headers);
  headers['server-timing'] = serverTiming(ctx, now);
  return into;
}

/** Headers that say who served a completion (added to `headers`, a new object by default). */
export function routingHeaders(
  ctx: RequestContext,
  headers: Record<string, string | number> = {},
): Record<string, string | number> {
  const deployment = servingDeployment(ctx);
  if (deployment) {
    headers['x-provider'] = deployment.provider;
    headers['x-model'] = headerSafe(servedModel(ctx) ?? deployment.model);
  }
  if (ctx.upstream.fallbackCount > 0) headers['x-fallback-count'] = String(ctx.upstream.fallbackCount);
  return headers;
}

/** A surrogate without its pair: `encodeURIComponent` throws on it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Model names come from clients and upstreams; a header value must be visible ASCII, or Node refuses the
 * whole response. Anything else is percent-encoded (a lone surrogate as U+FFFD: encoding it would throw,
 * and the answer would be lost).
 */
export function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value.replace(LONE_SURROGATE, '\uFFFD'));
}
