/**
 * GET /v1/models and GET /v1/models/{model}: every routable alias and each offered provider's models; for a
 * key with allowed models, only those (another model is a 404, as OpenAI answers for a model the key cannot use).
 * Retrieve also answers for any name the gateway serves without listing it (`provider/model`, a dated
 * snapshot matched by a provider's prefix): what `POST /v1/chat/completions` accepts, retrieve finds.
 * A request carrying `anthropic-version` (the Anthropic SDK, Claude Code) gets Anthropic's shapes instead:
 * `ModelInfo` objects in pages (`limit`, `after_id`, `before_id`) and Anthropic's error body
 * (anthropic-models.ts).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { BadRequestError, GatewayError } from '../../core/errors.js';
import { ErrorResponseSchema } from '../../endpoints/common-schema.js';
import type { ModelResolver, Route } from '../../routing/resolver.js';
import {
  AnthropicModelErrorSchema,
  AnthropicModelPageSchema,
  AnthropicModelSchema,
  anthropicModels,
  isAnthropicRequest,
} from './anthropic-models.js';

const ModelSchema = T.Object({
  id: T.String(),
  object: T.Literal('model'),
  created: T.Integer(),
  owned_by: T.String(),
});

export function registerModelRoutes(app: FastifyInstance, resolver: ModelResolver, createdAt: number): void {
  const list = resolver
    .listModels()
    .map((m) => ({ id: m.id, object: 'model' as const, created: createdAt, owned_by: m.owned_by }));
  const byId = new Map(list.map((m) => [m.id, m]));
  const body = { object: 'list' as const, data: list };
  const anthropic = anthropicModels(
    list.map((m) => m.id),
    createdAt,
  );

  app.get(
    '/v1/models',
    {
      schema: {
        summary: 'List routable models and aliases',
        tags: ['OpenAI-compatible'],
        response: {
          200: T.Union([
            T.Object({ object: T.Literal('list'), data: T.Array(ModelSchema) }),
            AnthropicModelPageSchema,
          ]),
          400: T.Union([ErrorResponseSchema, AnthropicModelErrorSchema]),
        },
      },
    },
    // A key limited to some models lists only those (as OpenAI lists a key's accessible models).
    async (request, reply) => {
      const allowed = request.principal?.allowedModels;
      if (isAnthropicRequest(request.headers)) {
        const page = anthropic.page(request.query, allowed);
        return 'error' in page ? reply.code(400).send(page.error) : page.body;
      }
      return allowed ? { object: 'list' as const, data: list.filter((m) => allowed.has(m.id)) } : body;
    },
  );

  app.get(
    '/v1/models/*',
    {
      schema: {
        summary: 'Retrieve one model',
        tags: ['OpenAI-compatible'],
        response: {
          200: T.Union([ModelSchema, AnthropicModelSchema]),
          404: T.Union([ErrorResponseSchema, AnthropicModelErrorSchema]),
        },
      },
    },
    async (request, reply) => {
      const id = (request.params as { '*': string })['*'];
      const allowed = request.principal?.allowedModels;
      const model = byId.get(id) ?? served(resolver, id, createdAt);
      if (isAnthropicRequest(request.headers)) {
        const info =
          model && !(allowed && !allowed.has(id))
            ? (anthropic.get(id) ?? anthropicModels([id], createdAt).get(id))
            : undefined;
        return info ?? reply.code(404).send(anthropic.notFound(id));
      }
      if (!model || (allowed && !allowed.has(id))) {
        // OpenAI's own answer for an unknown model: 404, code `model_not_found`, param `model`.
        throw new GatewayError(
          `The model "${id}" does not exist or is not listed.`,
          'model_not_found',
          404,
          'invalid_request_error',
          { param: 'model' },
        );
      }
      return model;
    },
  );
}

/** A model object for a name the gateway serves but does not list (its route's first provider owns it). */
function served(resolver: ModelResolver, id: string, createdAt: number) {
  let route: Route;
  try {
    route = resolver.resolve(id);
  } catch (err) {
    if (err instanceof BadRequestError) return undefined;
    throw err;
  }
  const owner = route.kind === 'alias' ? 'llm-gateway' : (route.deployments[0]?.provider ?? 'llm-gateway');
  return { id, object: 'model' as const, created: createdAt, owned_by: owner };
}
