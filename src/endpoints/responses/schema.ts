/**
 * The request schema of POST /v1/responses (OpenAI Responses API), as far as the gateway reads it. Items and
 * tools are open objects checked by `type` in `translate-request.ts` (the API has dozens of item and tool
 * types; the ones a translated provider cannot run are refused there, naming the item). Unknown fields are
 * allowed: an OpenAI deployment receives the body as it is.
 */
import { Type as T } from '@sinclair/typebox';
import { modelName, nullable, storedId } from '../common-schema.js';

const open = { additionalProperties: true };

const Item = T.Object({ type: T.Optional(T.String()) }, open);
const Tool = T.Object({ type: T.String({ minLength: 1 }) }, open);

export const ResponsesRequestSchema = T.Object(
  {
    model: modelName(),
    // Optional as in OpenAI's API: an OpenAI-hosted `prompt` or `conversation` can stand without it.
    input: T.Optional(T.Union([T.String(), T.Array(Item)])),
    instructions: T.Optional(nullable(T.String())),
    tools: T.Optional(T.Array(Tool)),
    tool_choice: T.Optional(T.Union([T.String(), T.Object({ type: T.String() }, open)])),
    text: T.Optional(
      T.Object(
        {
          format: T.Optional(
            T.Object(
              {
                type: T.Union([T.Literal('text'), T.Literal('json_object'), T.Literal('json_schema')]),
              },
              open,
            ),
          ),
        },
        open,
      ),
    ),
    reasoning: T.Optional(
      nullable(T.Object({ effort: T.Optional(nullable(T.String())), summary: T.Optional(T.Any()) }, open)),
    ),
    max_output_tokens: T.Optional(nullable(T.Integer({ minimum: 1 }))),
    temperature: T.Optional(nullable(T.Number({ minimum: 0, maximum: 2 }))),
    top_p: T.Optional(nullable(T.Number({ minimum: 0, maximum: 1 }))),
    parallel_tool_calls: T.Optional(nullable(T.Boolean())),
    store: T.Optional(nullable(T.Boolean())),
    previous_response_id: T.Optional(nullable(storedId())),
    metadata: T.Optional(nullable(T.Record(T.String(), T.String()))),
    user: T.Optional(T.String()),
    stream: T.Optional(nullable(T.Boolean())),
  },
  { ...open, description: 'OpenAI Responses API request.' },
);
