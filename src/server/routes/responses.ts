/**
 * Stored responses (OpenAI Responses API): `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}`,
 * `GET /v1/responses/{id}/input_items` and `POST /v1/responses/{id}/cancel`, plus
 * `POST /v1/responses/input_tokens` (counting) and `POST /v1/responses/compact` (not supported: 404).
 * Authenticated with the gateway's API keys like every `/v1/` route; a response is visible only to the key
 * that created it (any other key gets 404, as if it did not exist).
 *
 * Deleting a response OpenAI also stores (answered natively) deletes it at OpenAI first, through the
 * deployment that made it and with its credentials; the local copy goes only once that succeeded (or OpenAI
 * no longer knows it), so a failed DELETE (502) can be retried (decision 0234).
 */
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Authenticator } from '../../auth/principal.js';
import {
  BadRequestError,
  GatewayError,
  NotFoundError,
  ProviderUnavailableError,
  ServiceUnavailableError,
  TimeoutError,
} from '../../core/errors.js';
import { ErrorResponseSchema, storedId } from '../../endpoints/common-schema.js';
import {
  createInputTokens,
  INPUT_TOKENS_PATH,
  type InputTokenCount,
  type InputTokensRequest,
} from '../../endpoints/responses/input-tokens.js';
import { scopeOf } from '../../endpoints/responses/stage.js';
import { pageOf, type ResponseStore, type StoredResponse } from '../../endpoints/responses/store.js';
import { RESPONSES_API } from '../../providers/openai/responses.js';
import type { ModelResolver } from '../../routing/resolver.js';
import { limitOf, limitParam } from '../../tenancy/pagination.js';
import { useJsonText } from '../json-body.js';

/** What the routes need besides the app's authenticator and resolver. */
export interface ResponseRoutesDeps {
  store: ResponseStore;
  /** `POST /v1/responses/input_tokens` (`endpoints/responses/input-tokens.ts`). */
  countInputTokens(req: InputTokensRequest): Promise<InputTokenCount>;
  /** Longest wait for the upstream DELETE of a natively stored response (`upstream.timeout_ms`). */
  upstreamTimeoutMs: number;
}

/** The routes' dependencies from the store and the token-counting parts (`upstream.timeout_ms` bounds both). */
export function responseRoutes(
  store: ResponseStore,
  counting: Omit<Parameters<typeof createInputTokens>[0], 'store'>,
): ResponseRoutesDeps {
  return {
    store,
    countInputTokens: createInputTokens({ ...counting, store }),
    upstreamTimeoutMs: counting.timeoutMs,
  };
}

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
  deps: ResponseRoutesDeps,
  auth: Authenticator,
  resolver: Pick<ModelResolver, 'deploymentById'>,
): void {
  const { store } = deps;
  const scope = async (request: FastifyRequest) => {
    const header = request.headers['x-user-id'];
    const principal = await auth.authenticate({
      authorization: request.headers.authorization,
      userIdHeader: typeof header === 'string' ? header : undefined,
    });
    return scopeOf(principal);
  };
  const find = async (request: FastifyRequest, id: string, known?: string): Promise<StoredResponse> => {
    const who = known ?? (await scope(request));
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

  /** Deletes a natively stored response where it lives; throws (502) when that failed. */
  const deleteUpstream = async (request: FastifyRequest, found: StoredResponse): Promise<void> => {
    const deployment = found.deployment === null ? undefined : resolver.deploymentById(found.deployment);
    if (!deployment?.adapter.deleteNative) {
      // The deployment left the configuration: nothing can reach that account any more (decision 0234).
      request.log.warn(
        { event: 'responses.delete_local_only', response_id: found.id, deployment: found.deployment },
        'the deployment that stored this response is no longer configured; deleted locally only',
      );
      return;
    }
    // Bounded, and not given up when the client leaves: the deletion it asked for still happens.
    const timeout = AbortSignal.timeout(deps.upstreamTimeoutMs);
    try {
      await deployment.adapter.deleteNative(RESPONSES_API, found.id, {
        signal: timeout,
        requestId: request.id,
      });
    } catch (err) {
      const why = timeout.aborted ? new TimeoutError('no answer in time', deployment.provider) : err;
      const detail = why instanceof Error ? why.message : String(why);
      throw new ProviderUnavailableError(
        `Response '${found.id}' could not be deleted at ${deployment.provider} (${detail}); the gateway kept its copy, retry the DELETE.`,
        deployment.provider,
        { cause: err },
      );
    }
  };

  app.delete(
    '/v1/responses/:id',
    { schema: { summary: 'Delete a stored response', tags, params: Params, response: errors } },
    async (request) => {
      const { id } = request.params as { id: string };
      const who = await scope(request);
      const found = await find(request, id, who);
      if (found.native && found.deployment !== null) await deleteUpstream(request, found);
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

  app.post(
    '/v1/responses/:id/cancel',
    // Not in /openapi.json: it never succeeds here (decision 0234), and the document lists success answers.
    { schema: { hide: true, params: Params } },
    async (request) => {
      const found = await find(request, (request.params as { id: string }).id);
      // OpenAI refuses to cancel a response that was not created in background mode; the gateway runs none.
      throw new BadRequestError(
        `Response '${found.id}' cannot be cancelled: only responses created with background: true can be cancelled, and this gateway does not run background responses (every response it returns has finished).`,
        'invalid_request',
        { param: 'response_id' },
      );
    },
  );

  app.post('/v1/responses/compact', { schema: { hide: true } }, async () => {
    throw new NotFoundError(
      'Compacting a conversation (POST /v1/responses/compact) is not supported by this gateway; send the conversation, or chain it with previous_response_id.',
    );
  });

  // Its own scope: the body reaches the handler as text (parsed and checked there, as for /v1/responses).
  app.register(async (scoped) => {
    useJsonText(scoped);
    scoped.post(
      INPUT_TOKENS_PATH,
      { schema: { summary: 'Count the input tokens of a response request', tags, response: errors } },
      async (request, reply) => {
        const abort = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abort.abort();
        });
        const { source, ...count } = await deps.countInputTokens({
          raw: typeof request.body === 'string' ? request.body : '',
          headers: request.headers,
          requestId: request.id,
          signal: abort.signal,
          log: request.log,
        });
        reply.header('x-token-count-source', source);
        return count;
      },
    );
  });

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
