/**
 * Stored responses (OpenAI Responses API): `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and
 * `GET /v1/responses/{id}/input_items`. Authenticated with the gateway's API keys like every `/v1/` route;
 * a response is visible only to the key that created it (any other key gets 404, as if it did not exist).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/principal.js';
import { GatewayError, NotFoundError, ServiceUnavailableError } from '../../core/errors.js';
import { ErrorResponseSchema, storedId } from '../../endpoints/common-schema.js';
import { scopeOf } from '../../endpoints/responses/stage.js';
import { pageOf, type ResponseStore, type StoredResponse } from '../../endpoints/responses/store.js';
import { limitOf, limitParam } from '../../tenancy/pagination.js';

const Params = T.Object({ id: storedId(200) });
const ListQuery = T.Object({
  after: T.Optional(T.String()),
  before: T.Optional(T.String()),
  limit: limitParam(100, 20),
  order: T.Optional(T.Union([T.Literal('asc'), T.Literal('desc')])),
  include: T.Optional(T.Union([T.String(), T.Array(T.String())])),
});
const errors = { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema };

export function registerResponseRoutes(
  app: FastifyInstance,
  store: ResponseStore,
  auth: Authenticator,
): void {
  const scope = async (request: FastifyRequest) => {
    const header = request.headers['x-user-id'];
    const principal = await auth.authenticate({
      authorization: request.headers.authorization,
      userIdHeader: typeof header === 'string' ? header : undefined,
    });
    return scopeOf(principal);
  };
  const find = async (request: FastifyRequest, id: string): Promise<StoredResponse> => {
    const who = await scope(request);
    let found: StoredResponse | null;
    try {
      found = await store.get(who, id);
    } catch (err) {
      throw unavailable(err);
    }
    if (!found) throw new NotFoundError(`No response with id '${id}' found.`);
    return found;
  };
  const tags = ['OpenAI-compatible'];

  app.get(
    '/v1/responses/:id',
    { schema: { summary: 'Retrieve a stored response', tags, params: Params, response: errors } },
    async (request) => (await find(request, (request.params as { id: string }).id)).response,
  );

  app.delete(
    '/v1/responses/:id',
    { schema: { summary: 'Delete a stored response', tags, params: Params, response: errors } },
    async (request) => {
      const { id } = request.params as { id: string };
      const who = await scope(request);
      let deleted: boolean;
      try {
        deleted = await store.delete(who, id);
      } catch (err) {
        throw unavailable(err);
      }
      if (!deleted) throw new NotFoundError(`No response with id '${id}' found.`);
      return { id, object: 'response', deleted: true };
    },
  );

  app.get(
    '/v1/responses/:id/input_items',
    {
      schema: {
        summary: "List a stored response's input items",
        tags,
        params: Params,
        querystring: ListQuery,
        response: errors,
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const query = request.query as {
        after?: string;
        before?: string;
        limit?: string;
        order?: 'asc' | 'desc';
      };
      const limit = limitOf(query.limit, 100, 20);
      const found = await find(request, id);
      return pageOf(found.inputItems, {
        after: query.after,
        before: query.before,
        limit,
        order: query.order ?? 'desc',
      });
    },
  );
}

function unavailable(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new ServiceUnavailableError('Stored responses are unavailable right now; retry later.');
}
