/**
 * What /openapi.json says each route answers (decision 0230). @fastify/swagger builds the document from the
 * routes' schemas, but a route's `schema.response` is also what Fastify serialises its answer with (dropping
 * every property it does not name): the gateway passes provider answers through, so the success answers are
 * documented here instead and added by swagger's `transform` hook, once, when the document is built. Nothing
 * here runs per request or changes what a route sends.
 *
 * A route's documented answers come from, in order: its `config.openapi` (the admin routes: `AdminRoute.
 * responses`, server/admin-routes.ts), the table below, else nothing (the integration test fails on an
 * operation without a 2xx answer).
 */
import type { AdminResponseDoc } from '../../core/feature.js';
import { component, OPENAPI_COMPONENTS } from './schemas.js';

type Schema = Record<string, unknown>;

/** One documented answer: a description and its body by media type (none: an empty body, e.g. 204). */
export interface ResponseDoc {
  readonly description: string;
  readonly content?: Readonly<Record<string, Schema>>;
  /** Response headers by name (a JSON schema each; its `description` becomes the header's). */
  readonly headers?: Readonly<Record<string, Schema>>;
}

/** Documented answers by status code (`200`, `201`, `4XX` …). */
export type ResponseDocs = Readonly<Record<string, ResponseDoc>>;

/** What a route sets in `config.openapi`. */
export interface RouteDoc {
  readonly responses: ResponseDocs;
}

const json = (schema: Schema) => ({ 'application/json': schema });
const sse = (event: string, done = '') => ({
  'text/event-stream': {
    type: 'string',
    description: `With \`"stream": true\`: server-sent events, each \`data:\` a ${event}${done}.`,
  },
});
const ERRORS: ResponseDocs = {
  '4XX': { description: 'OpenAI error envelope', content: json(component('ErrorResponse')) },
  '5XX': { description: 'OpenAI error envelope', content: json(component('ErrorResponse')) },
};
const chat: ResponseDocs = {
  200: {
    description: 'A chat completion, or its chunks as server-sent events',
    content: {
      ...json(component('CreateChatCompletionResponse')),
      ...sse('`CreateChatCompletionStreamResponse` chunk', ', then `data: [DONE]`'),
    },
  },
};

/** Success answers of the routes outside the admin table, by Fastify method and URL. */
const OPERATIONS: Readonly<Record<string, ResponseDocs>> = {
  'POST /v1/chat/completions': chat,
  'POST /v1/prompts/:id/completions': chat,
  'POST /v1/completions': {
    200: {
      description: 'A completion, or its chunks as server-sent events',
      content: {
        ...json(component('CreateCompletionResponse')),
        ...sse('`CreateCompletionResponse` chunk', ', then `data: [DONE]`'),
      },
    },
  },
  'POST /v1/embeddings': {
    200: { description: 'Embeddings', content: json(component('CreateEmbeddingResponse')) },
  },
  'POST /v1/messages': {
    200: {
      description: 'An Anthropic message, or its events as server-sent events',
      content: {
        ...json(component('Message')),
        ...sse('Messages API stream event (`event:` names its type)'),
      },
    },
  },
  'POST /v1/messages/count_tokens': {
    '4XX': { description: 'Anthropic error body', content: json(component('AnthropicError')) },
    '5XX': { description: 'Anthropic error body', content: json(component('AnthropicError')) },
    200: {
      description: 'The input token count',
      content: json({
        type: 'object',
        required: ['input_tokens'],
        properties: { input_tokens: { type: 'integer' } },
      }),
    },
  },
  'POST /v1/responses': {
    200: {
      description: 'A model response, or its events as server-sent events',
      content: { ...json(component('Response')), ...sse('`ResponseStreamEvent`') },
    },
  },
  'POST /v1/responses/input_tokens': {
    200: {
      description: 'The input token count (`x-token-count-source`: provider or local)',
      content: json({
        type: 'object',
        required: ['object', 'input_tokens'],
        properties: { object: { const: 'response.input_tokens' }, input_tokens: { type: 'integer' } },
      }),
    },
  },
  'GET /v1/responses/:id': {
    200: { description: 'The stored response', content: json(component('Response')) },
  },
  'DELETE /v1/responses/:id': {
    200: { description: 'The response was deleted', content: json(component('ResponseDeleted')) },
  },
  'GET /v1/responses/:id/input_items': {
    200: { description: 'A page of input items', content: json(component('ResponseItemList')) },
  },
  'POST /v1/feedback': {
    200: { description: 'The feedback as stored', content: json(component('Feedback')) },
  },
  'GET /v1/models': {
    200: { description: 'The routable models (Anthropic’s page with `anthropic-version`)' },
  },
  'GET /v1/models/*': {
    200: { description: 'The model (Anthropic’s `ModelInfo` with `anthropic-version`)' },
  },
  'GET /health/live': { 200: { description: 'The process is alive', content: json({ type: 'object' }) } },
  'GET /health/ready': {
    200: { description: 'Ready for traffic', content: json({ type: 'object' }) },
    503: { description: 'Starting or shutting down', content: json({ type: 'object' }) },
  },
  'GET /health': {
    200: {
      description: 'Status of the gateway, providers and dependencies',
      content: json({ type: 'object' }),
    },
    503: { description: 'Shutting down', content: json({ type: 'object' }) },
  },
  'GET /metrics': {
    200: {
      description: 'Prometheus text exposition',
      content: { 'text/plain': { type: 'string' } },
    },
  },
  'POST /console/session': {
    201: {
      description: 'Signed in: the session (and its cookie)',
      content: json({ type: 'object', required: ['actor', 'csrf_token', 'expires_at'] }),
    },
  },
  'GET /console/session': { 200: { description: 'The session' } },
  'DELETE /console/session': { 204: { description: 'Signed out (the cookie is cleared)' } },
};

/** Routes whose errors are OpenAI's envelope although their own schema does not say so. */
const OPENAI_ERRORS = /^\/(v1|admin)\//;

/** The wildcard model route; documented as `/v1/models/{model}` (ids may contain `/`). */
const MODEL_WILDCARD = '/v1/models/*';
const MODEL_PARAMS = {
  type: 'object',
  required: ['model'],
  properties: {
    model: {
      type: 'string',
      description:
        'The model id, sent as it is: it may contain `/` (`openai/gpt-4o-mini`, `slowp/slow-model`), which ' +
        'the gateway accepts unescaped or as `%2F`.',
    },
  },
};

/** A documented answer in the form @fastify/swagger reads from `schema.response`. */
function swaggerResponse(doc: ResponseDoc, existing: unknown): Schema {
  const content = doc.content ? Object.entries(doc.content) : [];
  if (content.length > 0)
    return {
      description: doc.description,
      content: Object.fromEntries(content.map(([type, schema]) => [type, { schema }])),
      ...(doc.headers ? { headers: doc.headers } : {}),
    };
  // A status the route's own schema describes (serialised with it): keep that schema, add the description.
  if (existing && typeof existing === 'object')
    return { ...(existing as Schema), description: doc.description };
  return { type: 'null', description: doc.description };
}

interface TransformInput {
  schema: unknown;
  url: string;
  route: { method: string | string[]; config?: unknown };
}

/** @fastify/swagger's `transform`: the route's documented schema and URL (the route itself is unchanged). */
export function documentRoute({ schema, url, route }: TransformInput): { schema: Schema; url: string } {
  const base = (schema ?? {}) as Schema;
  const method = Array.isArray(route.method) ? route.method[0] : route.method;
  const docs =
    (route.config as { openapi?: RouteDoc } | undefined)?.openapi?.responses ??
    OPERATIONS[`${method} ${url}`];
  if (!docs) return { schema: base, url };
  const own = (base.response ?? {}) as Record<string, unknown>;
  const response: Record<string, unknown> = {};
  for (const [status, doc] of Object.entries(docs)) response[status] = swaggerResponse(doc, own[status]);
  for (const [status, value] of Object.entries(own)) response[status] ??= value;
  if (OPENAI_ERRORS.test(url) && !Object.keys(response).some((s) => /^4/.test(s))) {
    for (const [status, doc] of Object.entries(ERRORS)) response[status] = swaggerResponse(doc, undefined);
  }
  const documented: Schema = { ...base, response };
  if (url === MODEL_WILDCARD)
    return { schema: { ...documented, params: MODEL_PARAMS }, url: '/v1/models/:model' };
  return { schema: documented, url };
}

/** The component schemas the documented answers refer to (`openapi.components.schemas`). */
export const openapiComponents = (): Record<string, Schema> => ({ ...OPENAPI_COMPONENTS });

/** The documented answers of an admin route: its own, else a JSON object; errors in OpenAI's envelope. */
export function adminRouteDoc(responses: Readonly<Record<number, AdminResponseDoc>> | undefined): RouteDoc {
  const success = responses ?? { 200: { description: 'Success', component: 'AdminObject' } };
  const out: Record<string, ResponseDoc> = {};
  for (const [status, doc] of Object.entries(success)) {
    const body = doc.component ? component(doc.component) : undefined;
    out[status] = {
      description: doc.description,
      ...(body ? { content: { ...json(body), ...(doc.csv ? { 'text/csv': { type: 'string' } } : {}) } } : {}),
      ...(doc.headers ? { headers: doc.headers } : {}),
    };
  }
  return { responses: { ...out, ...ERRORS } };
}
