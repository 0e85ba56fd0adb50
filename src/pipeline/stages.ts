/**
 * The pipeline's own stages (the features contribute the others): `decode` turns the raw body into the
 * canonical request with the endpoint's codec; `resolve` checks the caller may use the model and resolves
 * it to a route (alias → deployments).
 */
import { assertModelAllowed } from '../auth/principal.js';
import type { Clock } from '../core/clock.js';
import type { EndpointName } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import { type Stage, stage } from '../core/stage.js';
import type { ModelResolver } from '../routing/resolver.js';

/** Parses and validates the body with the endpoint's codec (400 / 422 naming the field). */
export function decodeStage(codecs: ReadonlyMap<EndpointName, EndpointCodec>): Stage {
  return stage('decode', (ctx, next) => {
    const codec = codecs.get(ctx.endpoint);
    if (!codec) throw new Error(`no codec for endpoint ${ctx.endpoint}`);
    ctx.request = codec.decode(ctx.rawBody, ctx.headers, ctx.params);
    ctx.rawBody = '';
    return next(ctx);
  });
}

/** 403 when the key may not use the model, 400 when the model is unknown; sets `ctx.route`. */
export function resolveStage(resolver: ModelResolver, clock: Clock): Stage {
  return stage('resolve', (ctx, next) => {
    const model = ctx.request?.model;
    if (model === undefined) throw new Error('resolve reached without a decoded request');
    if (ctx.principal) assertModelAllowed(ctx.principal, model);
    const started = clock.now();
    ctx.route = resolver.resolve(model);
    ctx.timings.resolve = clock.now() - started;
    return next(ctx);
  });
}
