/**
 * POST /v1/embeddings: parse (schema) → auth (onRequest) → permission → resolve → pipeline → serialise.
 * Routed like chat: aliases, `provider/model` and prefixes, with retries, fallback and timeouts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assertModelAllowed } from '../../auth/principal.js';
import type { ChatPipeline } from '../../pipeline/chat.js';
import type { EmbeddingRequest } from '../../providers/types.js';
import type { ModelResolver } from '../../routing/resolver.js';
import { ErrorResponseSchema } from '../schemas/common.js';
import { EmbeddingRequestSchema } from '../schemas/embeddings.js';
import { routingHeaders, serverTiming } from '../timing.js';

export interface EmbeddingRouteDeps {
  resolver: ModelResolver;
  pipeline: ChatPipeline;
}

export const EMBEDDINGS_ROUTE = '/v1/embeddings';

export function registerEmbeddingRoutes(app: FastifyInstance, deps: EmbeddingRouteDeps): void {
  app.post(
    EMBEDDINGS_ROUTE,
    {
      schema: {
        summary: 'Create embeddings (OpenAI-compatible)',
        tags: ['OpenAI-compatible'],
        body: EmbeddingRequestSchema,
        response: { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const ctx = request.ctx;
      const req = request.body as EmbeddingRequest;
      ctx.model = req.model;
      if (ctx.principal) assertModelAllowed(ctx.principal, req.model);
      const resolveStart = performance.now();
      ctx.route = deps.resolver.resolve(req.model);
      ctx.timings.resolve = performance.now() - resolveStart;
      const answer = await deps.pipeline.embed(ctx, req);
      reply.headers(routingHeaders(ctx));
      reply.header('server-timing', serverTiming(ctx, performance.now()));
      return reply.send(answer);
    },
  );
}
