/**
 * Steps every model-addressed route shares: check the caller may use the model, resolve it to a route
 * (timed for Server-Timing), and send a JSON answer with the routing and timing headers.
 */
import type { FastifyReply } from 'fastify';
import { assertModelAllowed } from '../../auth/principal.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { HookRunner } from '../../pipeline/hooks.js';
import type { ModelResolver } from '../../routing/resolver.js';
import { routingHeaders, serverTiming } from '../timing.js';

/** Sets `ctx.model` and `ctx.route`. @throws 403 when the key may not use the model, 400 when it is unknown. */
export function resolveModel(ctx: RequestContext, model: string, resolver: ModelResolver): void {
  ctx.model = model;
  if (ctx.principal) assertModelAllowed(ctx.principal, model);
  const started = performance.now();
  ctx.route = resolver.resolve(model);
  ctx.timings.resolve = performance.now() - started;
}

/** Runs the `admit` hooks (rate limits, budgets): after resolve, before the cache and any provider call. */
export async function admit(ctx: RequestContext, hooks: HookRunner): Promise<void> {
  await hooks.admit(ctx);
}

/**
 * Runs the `respond` hooks, then sends a JSON answer with X-Provider, X-Model, X-Fallback-Count,
 * Server-Timing and the hooks' headers.
 */
export function sendWithRouting(
  reply: FastifyReply,
  ctx: RequestContext,
  body: unknown,
  hooks: HookRunner,
): FastifyReply {
  hooks.respond(ctx);
  reply.headers(ctx.responseHeaders);
  reply.headers(routingHeaders(ctx));
  reply.header('server-timing', serverTiming(ctx, performance.now()));
  return reply.send(body);
}
