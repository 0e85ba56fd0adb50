/**
 * The request schemas of POST /v1/messages and /v1/messages/count_tokens (Anthropic Messages API), written
 * from the official SDK's `MessageCreateParams` / `MessageCountTokensParams`. Content blocks are
 * discriminated on `type` so errors name the exact field. Fields the gateway does not translate
 * (`cache_control`, `citations`, `container`, `mcp_servers` …) are allowed: an Anthropic deployment receives
 * the body as it is.
 */
import { Type as T } from '@sinclair/typebox';
import { modelName, oneOf, tokenCount } from '../common-schema.js';

const open = { additionalProperties: true };

const Text = T.Object({ type: T.Literal('text'), text: T.String() }, open);
const Base64Source = T.Object(
  { type: T.Literal('base64'), media_type: T.String({ minLength: 1 }), data: T.String() },
  open,
);
const UrlSource = T.Object({ type: T.Literal('url'), url: T.String({ minLength: 1 }) }, open);
/** A Files API upload (beta `files-api-2025-04-14`): only an Anthropic deployment can read it. */
const FileSource = T.Object({ type: T.Literal('file'), file_id: T.String({ minLength: 1 }) }, open);
const ImageSource = oneOf(
  T.Union([Base64Source, UrlSource, FileSource], { discriminator: { propertyName: 'type' } }),
);
const Image = T.Object({ type: T.Literal('image'), source: ImageSource }, open);
const Document = T.Object(
  { type: T.Literal('document'), source: T.Object({ type: T.String() }, open) },
  open,
);
const ToolUse = T.Object(
  {
    type: T.Literal('tool_use'),
    id: T.String({ minLength: 1 }),
    name: T.String({ minLength: 1 }),
    input: T.Unknown(),
  },
  open,
);
const ToolResult = T.Object(
  {
    type: T.Literal('tool_result'),
    tool_use_id: T.String({ minLength: 1 }),
    content: T.Optional(T.Union([T.String(), T.Array(T.Object({ type: T.String() }, open))])),
    is_error: T.Optional(T.Boolean()),
  },
  open,
);
const Thinking = T.Object({ type: T.Literal('thinking'), thinking: T.String(), signature: T.String() }, open);
const RedactedThinking = T.Object({ type: T.Literal('redacted_thinking'), data: T.String() }, open);
/** Server-tool and other blocks Anthropic defines: passed natively, refused by the translation. */
const OtherBlock = T.Object(
  {
    type: T.Unsafe<string>({
      type: 'string',
      enum: [
        'search_result',
        'server_tool_use',
        'web_search_tool_result',
        'web_fetch_tool_result',
        'code_execution_tool_result',
        'bash_code_execution_tool_result',
        'text_editor_code_execution_tool_result',
        'mcp_tool_use',
        'mcp_tool_result',
        'container_upload',
      ],
    }),
  },
  open,
);

const Block = oneOf(
  T.Union([Text, Image, Document, ToolUse, ToolResult, Thinking, RedactedThinking, OtherBlock], {
    discriminator: { propertyName: 'type' },
  }),
);

const Message = T.Object(
  {
    role: T.Union([T.Literal('user'), T.Literal('assistant')]),
    content: T.Union([T.String(), T.Array(Block)]),
  },
  open,
);

/**
 * A custom tool (no `type`, or `custom`) needs its `input_schema`; server tools (`web_search_20250305`,
 * `bash_20250124` …) have a `type` instead and no schema.
 */
const Tool = T.Object(
  {
    name: T.String({ minLength: 1, maxLength: 128 }),
    description: T.Optional(T.String()),
    input_schema: T.Optional(T.Object({ type: T.Literal('object') }, open)),
    type: T.Optional(T.Union([T.String(), T.Null()])),
  },
  {
    ...open,
    if: { properties: { type: { enum: ['custom', null] } } },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword.
    then: { required: ['input_schema'] },
  },
);

const ToolChoice = oneOf(
  T.Union(
    [
      T.Object({ type: T.Literal('auto'), disable_parallel_tool_use: T.Optional(T.Boolean()) }, open),
      T.Object({ type: T.Literal('any'), disable_parallel_tool_use: T.Optional(T.Boolean()) }, open),
      T.Object(
        {
          type: T.Literal('tool'),
          name: T.String({ minLength: 1 }),
          disable_parallel_tool_use: T.Optional(T.Boolean()),
        },
        open,
      ),
      T.Object({ type: T.Literal('none') }, open),
    ],
    { discriminator: { propertyName: 'type' } },
  ),
);

const Thinking_ = oneOf(
  T.Union(
    [
      T.Object({ type: T.Literal('enabled'), budget_tokens: tokenCount() }, open),
      T.Object({ type: T.Literal('disabled') }, open),
    ],
    { discriminator: { propertyName: 'type' } },
  ),
);

const System = T.Union([T.String(), T.Array(Text)]);

/** Fields shared by messages and count_tokens. */
const common = {
  model: modelName(),
  messages: T.Array(Message, { minItems: 1 }),
  system: T.Optional(System),
  tools: T.Optional(T.Array(Tool)),
  tool_choice: T.Optional(ToolChoice),
  thinking: T.Optional(Thinking_),
};

export const MessagesRequestSchema = T.Object(
  {
    ...common,
    max_tokens: tokenCount(),
    stop_sequences: T.Optional(T.Array(T.String())),
    temperature: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
    top_p: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
    top_k: T.Optional(tokenCount(0)),
    metadata: T.Optional(T.Object({ user_id: T.Optional(T.Union([T.String(), T.Null()])) }, open)),
    stream: T.Optional(T.Boolean()),
  },
  { ...open, $id: 'AnthropicMessagesRequest' },
);

export const CountTokensRequestSchema = T.Object(common, { ...open, $id: 'AnthropicCountTokensRequest' });
