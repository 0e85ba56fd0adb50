/**
 * POST /v1/embeddings: parse (schema) → auth (onRequest) → permission → resolve → pipeline → serialise.
 * Routed like chat: aliases, `provider/model` and prefixes, with retries, fallback and timeouts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ChatPipeline } from '../../pipeline/chat.js';
import type { HookRunner } from '../../pipeline/hooks.js';
import type { EmbeddingRequest } from '../../providers/types.js';
import type { ModelResolver } from '../../routing/resolver.js';
import { ErrorResponseSchema } from '../schemas/common.js';
import { EmbeddingRequestSchema } from '../schemas/embeddings.js';
import { admit, resolveModel, sendWithRouting } from './resolve.js';

export interface EmbeddingRouteDeps {
  resolver: ModelResolver;
  pipeline: ChatPipeline;
  hooks: HookRunner;
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
      ctx.kind = 'embeddings';
      ctx.body = req;
      resolveModel(ctx, req.model, deps.resolver);
      await admit(ctx, deps.hooks);
      return sendWithRouting(reply, ctx, await deps.pipeline.embed(ctx, req), deps.hooks);
    },
  );
}
