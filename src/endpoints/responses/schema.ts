/**
 * The request schema of POST /v1/responses (OpenAI Responses API), as far as the gateway reads it. Items and
 * tools are open objects here, checked by `type` in `validate.ts` (malformed ones: 422 naming the field)
 * and `translate-request.ts` (the ones a translated provider cannot run are refused there, naming the
 * item). Unknown fields are allowed: an OpenAI deployment receives the body as it is.
 */
import { Type as T } from '@sinclair/typebox';
import {
  exactInteger,
  MAX_METADATA_KEY_LENGTH,
  modelName,
  nullable,
  oneOf,
  storedId,
  tokenCount,
} from '../common-schema.js';
import {
  enumOf,
  REASONING_EFFORTS,
  RESPONSES_INCLUDES,
  RESPONSES_SERVICE_TIERS,
  TRUNCATIONS,
  VERBOSITIES,
} from '../openai-enums.js';

const open = { additionalProperties: true };

const Item = T.Object({ type: T.Optional(nullable(T.String())) }, open);
const Tool = T.Object({ type: T.String({ minLength: 1 }) }, open);

/** `text.format` (TextResponseFormatConfiguration). */
const Format = oneOf(
  T.Union(
    [
      T.Object({ type: T.Literal('text') }, open),
      T.Object({ type: T.Literal('json_object') }, open),
      T.Object(
        {
          type: T.Literal('json_schema'),
          name: T.String(),
          schema: T.Object({}, open),
          description: T.Optional(T.String()),
          strict: T.Optional(nullable(T.Boolean())),
        },
        open,
      ),
    ],
    { discriminator: { propertyName: 'type' } },
  ),
);

/** `Metadata`: up to 16 string values, keys up to 64 characters, values up to 512 (as on chat). */
const Metadata = T.Record(T.String(), T.String({ maxLength: 512 }), {
  maxProperties: 16,
  propertyNames: { maxLength: MAX_METADATA_KEY_LENGTH },
});

/** A hosted prompt template (OpenAI's `Prompt`), run by OpenAI; the gateway checks its shape only. */
const HostedPrompt = T.Object(
  {
    id: T.String(),
    version: T.Optional(nullable(T.String())),
    variables: T.Optional(nullable(T.Object({}, open))),
  },
  open,
);

export const ResponsesRequestSchema = T.Object(
  {
    model: modelName(),
    // Optional as in OpenAI's API: an OpenAI-hosted `prompt` or `conversation` can stand without it.
    input: T.Optional(T.Union([T.String(), T.Array(Item)])),
    instructions: T.Optional(nullable(T.String())),
    tools: T.Optional(T.Array(Tool)),
    // Object choices are checked by type in validate.ts.
    tool_choice: T.Optional(
      T.Union([enumOf(['none', 'auto', 'required']), T.Object({ type: T.String() }, open)]),
    ),
    text: T.Optional(
      T.Object({ format: T.Optional(Format), verbosity: T.Optional(nullable(enumOf(VERBOSITIES))) }, open),
    ),
    reasoning: T.Optional(
      nullable(
        T.Object(
          {
            effort: T.Optional(nullable(enumOf(REASONING_EFFORTS))),
            summary: T.Optional(nullable(enumOf(['auto', 'concise', 'detailed']))),
          },
          open,
        ),
      ),
    ),
    max_output_tokens: T.Optional(nullable(tokenCount(16))),
    max_tool_calls: T.Optional(nullable(exactInteger())),
    top_logprobs: T.Optional(nullable(T.Integer({ minimum: 0, maximum: 20 }))),
    truncation: T.Optional(nullable(enumOf(TRUNCATIONS))),
    service_tier: T.Optional(nullable(enumOf(RESPONSES_SERVICE_TIERS))),
    include: T.Optional(nullable(T.Array(enumOf(RESPONSES_INCLUDES)))),
    temperature: T.Optional(nullable(T.Number({ minimum: 0, maximum: 2 }))),
    top_p: T.Optional(nullable(T.Number({ minimum: 0, maximum: 1 }))),
    parallel_tool_calls: T.Optional(nullable(T.Boolean())),
    store: T.Optional(nullable(T.Boolean())),
    previous_response_id: T.Optional(nullable(storedId())),
    metadata: T.Optional(nullable(Metadata)),
    prompt: T.Optional(nullable(HostedPrompt)),
    conversation: T.Optional(nullable(T.Union([T.String(), T.Object({ id: T.String() }, open)]))),
    user: T.Optional(T.String()),
    safety_identifier: T.Optional(nullable(T.String({ maxLength: 64 }))),
    stream: T.Optional(nullable(T.Boolean())),
    // `true` is refused in validate.ts (decision 0234).
    background: T.Optional(nullable(T.Boolean())),
    stream_options: T.Optional(nullable(T.Object({ include_obfuscation: T.Optional(T.Boolean()) }, open))),
  },
  { ...open, description: 'OpenAI Responses API request.' },
);
