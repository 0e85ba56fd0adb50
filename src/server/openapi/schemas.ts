/**
 * Compact response shapes for /openapi.json (`#/components/schemas/…`): documentation only, never used to
 * serialise an answer (decision 0230). They follow OpenAI's own components of the same names (the vendored
 * copies in test/fixtures/openai-openapi/ are the full ones) but name only what the gateway always sends and
 * stay open: a provider's extra fields pass through, so no schema here forbids additional properties.
 */

type Schema = Record<string, unknown>;

const str = { type: 'string' };
const int = { type: 'integer' };
const nullableString = { type: ['string', 'null'] };
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const object = (required: string[], properties: Record<string, Schema>, description?: string): Schema => ({
  type: 'object',
  ...(description ? { description } : {}),
  required,
  properties,
});
const list = (item: Schema, description: string): Schema =>
  object(
    ['object', 'data'],
    { object: { const: 'list' }, data: { type: 'array', items: item } },
    description,
  );

const CompletionUsage = object(['prompt_tokens', 'completion_tokens', 'total_tokens'], {
  prompt_tokens: int,
  completion_tokens: int,
  total_tokens: int,
});

/** Component schemas, by name. */
export const OPENAPI_COMPONENTS: Record<string, Schema> = {
  ErrorResponse: object(
    ['error'],
    {
      error: object(['message', 'type', 'param', 'code'], {
        message: str,
        type: str,
        param: nullableString,
        code: nullableString,
      }),
    },
    'OpenAI error envelope.',
  ),
  AnthropicError: object(
    ['type', 'error'],
    { type: { const: 'error' }, error: object(['type', 'message'], { type: str, message: str }) },
    'Anthropic error body.',
  ),
  CompletionUsage,
  CreateChatCompletionResponse: object(
    ['id', 'object', 'created', 'model', 'choices'],
    {
      id: str,
      object: { const: 'chat.completion' },
      created: int,
      model: str,
      choices: {
        type: 'array',
        items: object(['index', 'message', 'finish_reason'], {
          index: int,
          message: object(['role', 'content'], {
            role: { const: 'assistant' },
            content: nullableString,
            refusal: nullableString,
            tool_calls: { type: 'array', items: { type: 'object' } },
          }),
          finish_reason: nullableString,
          logprobs: { type: ['object', 'null'] },
        }),
      },
      usage: ref('CompletionUsage'),
      system_fingerprint: nullableString,
    },
    'A chat completion (OpenAI `CreateChatCompletionResponse`); provider fields beyond these pass through.',
  ),
  CreateChatCompletionStreamResponse: object(
    ['id', 'object', 'created', 'model', 'choices'],
    {
      id: str,
      object: { const: 'chat.completion.chunk' },
      created: int,
      model: str,
      choices: {
        type: 'array',
        items: object(['index', 'delta'], {
          index: int,
          delta: { type: 'object' },
          finish_reason: nullableString,
        }),
      },
      usage: { anyOf: [ref('CompletionUsage'), { type: 'null' }] },
    },
    'One chunk of a streamed chat completion: the `data:` of each server-sent event, until `data: [DONE]`.',
  ),
  CreateCompletionResponse: object(
    ['id', 'object', 'created', 'model', 'choices'],
    {
      id: str,
      object: { const: 'text_completion' },
      created: int,
      model: str,
      choices: {
        type: 'array',
        items: object(['text', 'index', 'finish_reason'], {
          text: str,
          index: int,
          finish_reason: nullableString,
          logprobs: { type: ['object', 'null'] },
        }),
      },
      usage: ref('CompletionUsage'),
    },
    'A legacy completion (OpenAI `CreateCompletionResponse`); streamed, each event is one such object.',
  ),
  CreateEmbeddingResponse: object(
    ['object', 'data', 'model', 'usage'],
    {
      object: { const: 'list' },
      data: {
        type: 'array',
        items: object(['object', 'index', 'embedding'], {
          object: { const: 'embedding' },
          index: int,
          embedding: {
            oneOf: [
              { type: 'array', items: { type: 'number' } },
              { type: 'string', contentEncoding: 'base64' },
            ],
          },
        }),
      },
      model: str,
      usage: object(['prompt_tokens', 'total_tokens'], { prompt_tokens: int, total_tokens: int }),
    },
    'Embeddings (OpenAI `CreateEmbeddingResponse`).',
  ),
  Message: object(
    ['id', 'type', 'role', 'content', 'model', 'stop_reason', 'usage'],
    {
      id: str,
      type: { const: 'message' },
      role: { const: 'assistant' },
      content: { type: 'array', items: object(['type'], { type: str }) },
      model: str,
      stop_reason: nullableString,
      stop_sequence: nullableString,
      usage: object(['input_tokens', 'output_tokens'], { input_tokens: int, output_tokens: int }),
    },
    'An Anthropic Messages API `Message`.',
  ),
  Response: object(
    ['id', 'object', 'created_at', 'status', 'model', 'output'],
    {
      id: str,
      object: { const: 'response' },
      created_at: { type: 'number' },
      status: str,
      model: str,
      output: { type: 'array', items: object(['type'], { type: str }) },
      usage: { type: ['object', 'null'] },
    },
    'A model response (OpenAI Responses API `Response`).',
  ),
  ResponseStreamEvent: object(
    ['type'],
    { type: str, sequence_number: int },
    'One Responses API stream event (`response.created`, `response.output_text.delta`, … `response.completed`).',
  ),
  ResponseDeleted: object(['id', 'object', 'deleted'], {
    id: str,
    object: { const: 'response' },
    deleted: { const: true },
  }),
  ResponseItemList: object(
    ['object', 'data', 'first_id', 'last_id', 'has_more'],
    {
      object: { const: 'list' },
      data: { type: 'array', items: object(['id', 'type'], { id: str, type: str }) },
      first_id: str,
      last_id: str,
      has_more: { type: 'boolean' },
    },
    "A page of a stored response's input items.",
  ),
  Feedback: object(['object', 'request_id', 'metric', 'value', 'comment', 'request_known'], {
    object: { const: 'feedback' },
    request_id: str,
    metric: str,
    value: { type: 'number' },
    comment: nullableString,
    request_known: { type: 'boolean' },
  }),
  AdminObject: { type: 'object', description: 'A JSON object (see the admin API in the README).' },
  AdminList: list({ type: 'object' }, 'A list: `data`, and for a paginated one `next_cursor` or `has_more`.'),
  ApiKey: object(['id', 'name', 'key_prefix', 'role', 'created_at'], {
    id: str,
    name: str,
    key_prefix: str,
    user_id: nullableString,
    team_id: nullableString,
    org_id: nullableString,
    role: { enum: ['user', 'team_admin', 'org_admin'] },
    revoked_at: nullableString,
    expires_at: nullableString,
    created_at: str,
  }),
  CreatedApiKey: {
    description: 'The new key: its view and, this once, the secret `key`.',
    allOf: [ref('ApiKey'), object(['key'], { key: str })],
  },
  Level: object(['id', 'object', 'name', 'created_at'], {
    id: str,
    object: { enum: ['organization', 'team'] },
    name: str,
    org_id: nullableString,
    created_at: str,
    updated_at: str,
  }),
};

/** `{$ref}` to a component of `OPENAPI_COMPONENTS`. */
export function component(name: keyof typeof OPENAPI_COMPONENTS & string): Schema {
  if (!(name in OPENAPI_COMPONENTS)) throw new Error(`no OpenAPI component ${name}`);
  return ref(name);
}
