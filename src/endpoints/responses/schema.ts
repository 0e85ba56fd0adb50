/**
 * The request schema of POST /v1/responses (OpenAI Responses API), as far as the gateway reads it. Items and
 * tools are open objects here, checked by `type` in `validate.ts` (malformed ones: 422 naming the field)
 * and `translate-request.ts` (the ones a translated provider cannot run are refused there, naming the
 * item). Unknown fields are allowed: an OpenAI deployment receives the body as it is.
 */
import { Type as T } from '@sinclair/typebox';
import { modelName, nullable, oneOf, storedId, tokenCount } from '../common-schema.js';

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

const enumOf = (values: string[]) => T.Unsafe<string>({ type: 'string', enum: values });

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
    text: T.Optional(T.Object({ format: T.Optional(Format) }, open)),
    reasoning: T.Optional(
      nullable(
        T.Object(
          {
            effort: T.Optional(
              nullable(enumOf(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'])),
            ),
            summary: T.Optional(nullable(enumOf(['auto', 'concise', 'detailed']))),
          },
          open,
        ),
      ),
    ),
    max_output_tokens: T.Optional(nullable(tokenCount())),
    temperature: T.Optional(nullable(T.Number({ minimum: 0, maximum: 2 }))),
    top_p: T.Optional(nullable(T.Number({ minimum: 0, maximum: 1 }))),
    parallel_tool_calls: T.Optional(nullable(T.Boolean())),
    store: T.Optional(nullable(T.Boolean())),
    previous_response_id: T.Optional(nullable(storedId())),
    metadata: T.Optional(nullable(T.Record(T.String(), T.String()))),
    user: T.Optional(T.String()),
    stream: T.Optional(nullable(T.Boolean())),
    // `true` is refused in validate.ts (decision 0234).
    background: T.Optional(nullable(T.Boolean())),
  },
  { ...open, description: 'OpenAI Responses API request.' },
);
