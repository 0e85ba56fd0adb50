/**
 * The request schema of POST /v1/completions (OpenAI's legacy Completions API). The gateway serves it over
 * the chat path (docs/decisions/0179-legacy-completions.md): one text prompt becomes one user message.
 * What the chat path cannot do — token prompts, several prompts in one request, `echo`, `suffix`,
 * `best_of` above 1 — is refused by decode with a 422 naming the field. Unknown fields pass through to
 * OpenAI-compatible upstreams, as on chat; the chat request a body becomes is validated against the chat
 * schema too, so a chat field sent here (`reasoning_effort` …) meets the same checks as on chat.
 */
import { Type as T } from '@sinclair/typebox';
import { exactInteger, MAX_IDENTIFIER_LENGTH, modelName, nullable, tokenCount } from '../common-schema.js';

const open = { additionalProperties: true };

/** POST /v1/completions body. */
export const CompletionRequestSchema = T.Object(
  {
    model: modelName('Alias, `provider/model`, or a model name with a known prefix.'),
    prompt: T.Union(
      [
        T.String({ minLength: 1, description: 'The prompt.' }),
        T.Array(T.String(), { minItems: 1, description: 'Prompts (the gateway takes one per request).' }),
        T.Array(T.Integer(), { minItems: 1, description: 'A prompt as tokens (refused: not supported).' }),
        T.Array(T.Array(T.Integer(), { minItems: 1 }), {
          minItems: 1,
          description: 'Refused: not supported.',
        }),
      ],
      { description: 'The prompt: one non-empty string (or an array holding one).' },
    ),
    max_tokens: T.Optional(nullable(tokenCount(1, "Tokens to generate at most; OpenAI's default is 16."))),
    temperature: T.Optional(nullable(T.Number({ minimum: 0, maximum: 2 }))),
    top_p: T.Optional(nullable(T.Number({ minimum: 0, maximum: 1 }))),
    n: T.Optional(nullable(T.Integer({ minimum: 1, maximum: 128 }))),
    stop: T.Optional(nullable(T.Union([T.String(), T.Array(T.String(), { minItems: 1, maxItems: 4 })]))),
    presence_penalty: T.Optional(nullable(T.Number({ minimum: -2, maximum: 2 }))),
    frequency_penalty: T.Optional(nullable(T.Number({ minimum: -2, maximum: 2 }))),
    logit_bias: T.Optional(nullable(T.Record(T.String(), T.Number({ minimum: -100, maximum: 100 })))),
    logprobs: T.Optional(
      nullable(T.Integer({ minimum: 0, maximum: 5, description: 'Top log probabilities per token (0–5).' })),
    ),
    echo: T.Optional(nullable(T.Boolean({ description: 'Only `false` is supported.' }))),
    suffix: T.Optional(nullable(T.String({ description: 'Only empty is supported.' }))),
    best_of: T.Optional(
      nullable(T.Integer({ minimum: 0, maximum: 20, description: 'Only 1 is supported.' })),
    ),
    seed: T.Optional(nullable(exactInteger())),
    user: T.Optional(T.String({ maxLength: MAX_IDENTIFIER_LENGTH })),
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
  { ...open, $id: 'CreateCompletionRequest' },
);
