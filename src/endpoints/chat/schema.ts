/**
 * The request schema of POST /v1/chat/completions (OpenAI Chat Completions). Fastify validates bodies with
 * it (ajv, discriminators on `role` and `type` so errors name the exact field) and /openapi.json is
 * generated from it. Unknown fields are allowed: OpenAI-compatible upstreams receive them unchanged.
 */
import { Type as T } from '@sinclair/typebox';
import {
  exactInteger,
  identifier,
  MAX_IDENTIFIER_LENGTH,
  MAX_METADATA_KEY_LENGTH,
  modelName,
  nullable,
  oneOf,
  tokenCount,
} from '../common-schema.js';
import {
  CHAT_SERVICE_TIERS,
  enumOf,
  FUNCTION_CALL_MODES,
  INPUT_AUDIO_FORMATS,
  MODALITIES,
  OUTPUT_AUDIO_FORMATS,
  REASONING_EFFORTS,
  SEARCH_CONTEXT_SIZES,
  VERBOSITIES,
} from '../openai-enums.js';
import { PROMPT_ID_PATTERN, PromptFieldSchema } from '../prompt-ref.js';

const open = { additionalProperties: true };

const TextPart = T.Object({ type: T.Literal('text'), text: T.String() }, open);
const ImagePart = T.Object(
  {
    type: T.Literal('image_url'),
    image_url: T.Object(
      {
        url: T.String({ minLength: 1, description: 'http(s) URL or data: URL (base64).' }),
        detail: T.Optional(T.Union([T.Literal('auto'), T.Literal('low'), T.Literal('high')])),
      },
      open,
    ),
  },
  open,
);
const AudioPart = T.Object(
  {
    type: T.Literal('input_audio'),
    input_audio: T.Object({ data: T.String(), format: enumOf(INPUT_AUDIO_FORMATS) }, open),
  },
  open,
);
const FilePart = T.Object(
  {
    type: T.Literal('file'),
    file: T.Object(
      {
        file_data: T.Optional(T.String()),
        file_id: T.Optional(T.String()),
        filename: T.Optional(T.String()),
      },
      open,
    ),
  },
  open,
);
const RefusalPart = T.Object({ type: T.Literal('refusal'), refusal: T.String() }, open);

const discriminated = (propertyName: string) => ({ discriminator: { propertyName } });

const UserPart = T.Union([TextPart, ImagePart, AudioPart, FilePart], discriminated('type'));
const AssistantPart = T.Union([TextPart, RefusalPart], discriminated('type'));

const textContent = T.Union([T.String(), T.Array(TextPart, { minItems: 1 })]);

const FunctionToolCall = T.Object(
  {
    id: identifier(),
    type: T.Literal('function'),
    function: T.Object({ name: identifier(), arguments: T.String() }, open),
  },
  open,
);
const CustomToolCall = T.Object(
  {
    id: identifier(),
    type: T.Literal('custom'),
    custom: T.Object({ name: identifier(), input: T.String() }, open),
  },
  open,
);
const ToolCall = oneOf(T.Union([FunctionToolCall, CustomToolCall], discriminated('type')));

const name = T.Optional(identifier());

const SystemMessage = T.Object({ role: T.Literal('system'), content: textContent, name }, open);
const DeveloperMessage = T.Object({ role: T.Literal('developer'), content: textContent, name }, open);
const UserMessage = T.Object(
  {
    role: T.Literal('user'),
    content: T.Union([T.String(), T.Array(oneOf(UserPart), { minItems: 1 })]),
    name,
  },
  open,
);
const AssistantMessage = T.Object(
  {
    role: T.Literal('assistant'),
    content: T.Optional(nullable(T.Union([T.String(), T.Array(oneOf(AssistantPart), { minItems: 1 })]))),
    tool_calls: T.Optional(T.Array(ToolCall)),
    refusal: T.Optional(nullable(T.String())),
    name,
  },
  open,
);
const ToolMessage = T.Object(
  { role: T.Literal('tool'), content: textContent, tool_call_id: identifier() },
  open,
);
/** Deprecated by OpenAI but still in its API; only OpenAI-compatible upstreams accept it. */
const FunctionMessage = T.Object(
  { role: T.Literal('function'), content: nullable(T.String()), name: identifier() },
  open,
);

const Message = oneOf(
  T.Union(
    [SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage],
    discriminated('role'),
  ),
);

const toolName = T.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' });

const FunctionTool = T.Object(
  {
    type: T.Literal('function'),
    function: T.Object(
      {
        name: toolName,
        description: T.Optional(T.String()),
        parameters: T.Optional(T.Record(T.String(), T.Unknown())),
        strict: T.Optional(nullable(T.Boolean())),
      },
      open,
    ),
  },
  open,
);

/** OpenAI's custom (free-form input) tools; only OpenAI-compatible upstreams accept them. */
const CustomTool = T.Object(
  {
    type: T.Literal('custom'),
    custom: T.Object(
      { name: toolName, description: T.Optional(T.String()), format: T.Optional(T.Unknown()) },
      open,
    ),
  },
  open,
);
const Tool = oneOf(T.Union([FunctionTool, CustomTool], discriminated('type')));

const ResponseFormat = oneOf(
  T.Union(
    [
      T.Object({ type: T.Literal('text') }, open),
      T.Object({ type: T.Literal('json_object') }, open),
      T.Object(
        {
          type: T.Literal('json_schema'),
          json_schema: T.Object(
            {
              name: T.String({ pattern: '^[a-zA-Z0-9_-]{1,64}$' }),
              description: T.Optional(T.String()),
              schema: T.Optional(T.Record(T.String(), T.Unknown())),
              strict: T.Optional(nullable(T.Boolean())),
            },
            open,
          ),
        },
        open,
      ),
    ],
    discriminated('type'),
  ),
);

const ToolChoice = T.Union([
  T.Union([T.Literal('none'), T.Literal('auto'), T.Literal('required')]),
  oneOf(
    T.Union(
      [
        T.Object({ type: T.Literal('function'), function: T.Object({ name: identifier(64) }, open) }, open),
        T.Object({ type: T.Literal('custom'), custom: T.Object({ name: identifier(64) }, open) }, open),
        T.Object(
          {
            type: T.Literal('allowed_tools'),
            allowed_tools: T.Object(
              {
                mode: T.Union([T.Literal('auto'), T.Literal('required')]),
                tools: T.Array(T.Record(T.String(), T.Unknown())),
              },
              open,
            ),
          },
          open,
        ),
      ],
      discriminated('type'),
    ),
  ),
]);

/** Deprecated `functions` entries (before `tools`); only OpenAI-compatible upstreams accept them. */
const LegacyFunction = T.Object(
  {
    name: toolName,
    description: T.Optional(T.String()),
    parameters: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  open,
);
const FunctionCall = T.Union([enumOf(FUNCTION_CALL_MODES), T.Object({ name: identifier(64) }, open)]);

/** Output audio (`modalities: ["audio"]`): a built-in voice name or a custom voice `{id}`. */
const AudioOutput = T.Object(
  {
    voice: T.Union([T.String(), T.Object({ id: T.String() }, { additionalProperties: false })]),
    format: enumOf(OUTPUT_AUDIO_FORMATS),
  },
  open,
);

/** Predicted Outputs: the text the answer is expected to mostly repeat. */
const Prediction = T.Object(
  { type: T.Literal('content'), content: T.Union([T.String(), T.Array(TextPart, { minItems: 1 })]) },
  open,
);

const WebSearchOptions = T.Object(
  {
    user_location: T.Optional(
      nullable(T.Object({ type: T.Literal('approximate'), approximate: T.Object({}, open) }, open)),
    ),
    search_context_size: T.Optional(enumOf(SEARCH_CONTEXT_SIZES)),
  },
  open,
);

/** POST /v1/chat/completions body. */
export const ChatRequestSchema = T.Object(
  {
    model: modelName('Alias, `provider/model`, or a model name with a known prefix.'),
    messages: T.Array(Message, { minItems: 1 }),
    temperature: T.Optional(nullable(T.Number({ minimum: 0, maximum: 2 }))),
    top_p: T.Optional(nullable(T.Number({ minimum: 0, maximum: 1 }))),
    n: T.Optional(nullable(T.Integer({ minimum: 1, maximum: 128 }))),
    max_tokens: T.Optional(nullable(tokenCount())),
    max_completion_tokens: T.Optional(nullable(tokenCount())),
    stop: T.Optional(nullable(T.Union([T.String(), T.Array(T.String(), { minItems: 1, maxItems: 4 })]))),
    presence_penalty: T.Optional(nullable(T.Number({ minimum: -2, maximum: 2 }))),
    frequency_penalty: T.Optional(nullable(T.Number({ minimum: -2, maximum: 2 }))),
    logit_bias: T.Optional(nullable(T.Record(T.String(), T.Number({ minimum: -100, maximum: 100 })))),
    logprobs: T.Optional(nullable(T.Boolean())),
    top_logprobs: T.Optional(nullable(T.Integer({ minimum: 0, maximum: 20 }))),
    seed: T.Optional(nullable(exactInteger())),
    response_format: T.Optional(ResponseFormat),
    tools: T.Optional(T.Array(Tool)),
    tool_choice: T.Optional(ToolChoice),
    parallel_tool_calls: T.Optional(nullable(T.Boolean())),
    // `functions`, `function_call` and `web_search_options` are not `nullable` in OpenAI's document, but
    // null passed here before they were checked: it still does (unset), rather than break such clients.
    functions: T.Optional(nullable(T.Array(LegacyFunction, { minItems: 1, maxItems: 128 }))),
    function_call: T.Optional(T.Union([FunctionCall, T.Null()])),
    user: T.Optional(T.String({ maxLength: MAX_IDENTIFIER_LENGTH })),
    safety_identifier: T.Optional(nullable(T.String({ maxLength: 64 }))),
    reasoning_effort: T.Optional(nullable(enumOf(REASONING_EFFORTS))),
    verbosity: T.Optional(nullable(enumOf(VERBOSITIES))),
    service_tier: T.Optional(nullable(enumOf(CHAT_SERVICE_TIERS))),
    modalities: T.Optional(nullable(T.Array(enumOf(MODALITIES)))),
    audio: T.Optional(nullable(AudioOutput)),
    prediction: T.Optional(nullable(Prediction)),
    web_search_options: T.Optional(nullable(WebSearchOptions)),
    store: T.Optional(nullable(T.Boolean())),
    // OpenAI's metadata (16 string values), plus the gateway's `tags` as an array (endpoints/tags.ts).
    metadata: T.Optional(
      nullable(
        T.Object(
          {
            tags: T.Optional(
              T.Union([
                T.String({ maxLength: 512 }),
                T.Array(T.String({ maxLength: 512 }), { maxItems: 64 }),
              ]),
            ),
          },
          {
            additionalProperties: T.String({ maxLength: 512 }),
            maxProperties: 16,
            propertyNames: { maxLength: MAX_METADATA_KEY_LENGTH },
          },
        ),
      ),
    ),
    stream: T.Optional(nullable(T.Boolean())),
    stream_options: T.Optional(
      nullable(
        T.Object(
          { include_usage: T.Optional(T.Boolean()), include_obfuscation: T.Optional(T.Boolean()) },
          open,
        ),
      ),
    ),
  },
  { ...open, $id: 'CreateChatCompletionRequest' },
);

/**
 * A chat body that references a stored prompt (`prompt`/`experiment`, taken out before validation): the
 * prompt may give the model and the messages, so neither is required here. The prompt stage validates the
 * rendered request against `ChatRequestSchema`.
 */
export const PromptedChatRequestSchema = T.Object(
  {
    ...ChatRequestSchema.properties,
    model: T.Optional(ChatRequestSchema.properties.model),
    messages: T.Optional(T.Array(ChatRequestSchema.properties.messages.items)),
  },
  { ...open, $id: 'PromptedChatCompletionRequest' },
);

/**
 * OpenAPI only: the chat body with the gateway's prompt extension fields, `prompt` and `experiment`
 * (docs/prompts.md). Decode takes them out before validating against `ChatRequestSchema`.
 */
export const ChatRequestDocSchema = T.Object(
  {
    ...ChatRequestSchema.properties,
    prompt: T.Optional(PromptFieldSchema),
    experiment: T.Optional(
      T.String({ pattern: PROMPT_ID_PATTERN, description: 'Gateway extension: an experiment to join.' }),
    ),
  },
  { ...open, $id: 'CreateChatCompletionRequestWithPrompt' },
);
