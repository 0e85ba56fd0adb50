/**
 * `POST /v1/prompts/{id}/completions` (DESIGN §12): renders a stored prompt with `variables` and answers
 * as Chat Completions (JSON or a stream). The body is a chat body whose `model` and `messages` are
 * optional (the prompt gives them; the request's own messages follow the rendered ones), plus `variables`,
 * `version` or `label` (default `production`) and `experiment`.
 */
import { Type as T } from '@sinclair/typebox';
import type { EndpointCodec } from '../../core/endpoint.js';
import { ValidationError } from '../../core/errors.js';
import type { ChatRequest } from '../../providers/types.js';
import { CHAT_STREAM, promptedRequest } from '../chat/codec.js';
import { PromptedChatRequestSchema } from '../chat/schema.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { MAX_PROMPT_VERSION, PROMPT_ID_PATTERN, promptReference } from '../prompt-ref.js';

export const PROMPT_COMPLETIONS_PATH = '/v1/prompts/:id/completions';

const PromptCompletionSchema = T.Object(
  {
    ...PromptedChatRequestSchema.properties,
    variables: T.Optional(T.Record(T.String(), T.Unknown(), { description: 'Values of the variables' })),
    version: T.Optional(
      T.Union(
        [T.Integer({ minimum: 1, maximum: MAX_PROMPT_VERSION }), T.String({ pattern: '^[1-9][0-9]{0,8}$' })],
        {
          description: 'A version number (or `label`)',
        },
      ),
    ),
    label: T.Optional(T.String({ pattern: PROMPT_ID_PATTERN, description: 'A label; default `production`' })),
    experiment: T.Optional(T.String({ pattern: PROMPT_ID_PATTERN, description: 'An experiment to join' })),
  },
  { additionalProperties: true, $id: 'PromptCompletionRequest' },
);

/** Creates the codec. */
export function createPromptCompletionsCodec(
  compile: ReturnType<typeof createSchemaCompiler>,
): EndpointCodec {
  const { $id: _id, ...prompted } = PromptedChatRequestSchema;
  const validate = compile<Partial<ChatRequest>>(prompted as typeof PromptedChatRequestSchema);
  return {
    name: 'prompts',
    path: PROMPT_COMPLETIONS_PATH,
    summary: 'Render a stored prompt and create a chat completion (gateway extension)',
    bodySchema: PromptCompletionSchema,
    decode(raw, _headers, params) {
      const parsed = parseJsonBody(raw);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        throw new ValidationError('The body must be a JSON object.', null);
      }
      const {
        variables,
        version,
        label,
        experiment,
        prompt: _p,
        ...body
      } = parsed as Record<string, unknown>;
      const fields: Record<string, unknown> = { id: params?.id };
      if (variables !== undefined) fields.variables = variables;
      if (version !== undefined) fields.version = version;
      if (label !== undefined) fields.label = label;
      const reference = promptReference(fields, experiment, 'prompt', '');
      return promptedRequest(validate(body), reference);
    },
    encode: (result) => result.body,
    stream: CHAT_STREAM,
  };
}
