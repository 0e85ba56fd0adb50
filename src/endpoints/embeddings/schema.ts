/**
 * The request schema of POST /v1/embeddings (OpenAI Embeddings). Unknown fields pass through to
 * OpenAI-compatible upstreams (e.g. `input_type` for some self-hosted servers).
 */
import { Type as T } from '@sinclair/typebox';
import { MAX_COUNT, MAX_IDENTIFIER_LENGTH, modelName, tokenCount } from '../common-schema.js';

/** OpenAI's own limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** A token id (non-negative; no tokenizer has more than a 32-bit id). */
const Token = T.Integer({ minimum: 0, maximum: MAX_COUNT });

/**
 * An array input: one text as tokens (any length), else up to `MAX_EMBEDDING_INPUTS` texts, all strings or
 * all token arrays. One array schema with `if`/`then`/`else` rather than a union of arrays: a union reports
 * the error of its last branch, so 3,000 strings were told "input[0] must be of type integer".
 */
const InputArray = T.Unsafe<string[] | number[] | number[][]>({
  type: 'array',
  minItems: 1,
  if: { items: { type: 'integer' } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else keyword.
  then: { items: Token, description: 'One text as tokens.' },
  else: {
    maxItems: MAX_EMBEDDING_INPUTS,
    anyOf: [
      { items: T.String({ minLength: 1 }), description: 'Several texts.' },
      { items: T.Array(Token, { minItems: 1 }), description: 'Several texts as tokens.' },
    ],
  },
});

/** POST /v1/embeddings body. */
export const EmbeddingRequestSchema = T.Object(
  {
    model: modelName('Alias, `provider/model`, or a model name with a known prefix.'),
    input: T.Union([T.String({ minLength: 1, description: 'One text.' }), InputArray], {
      description: 'Text(s) to embed, as strings or token arrays.',
    }),
    encoding_format: T.Optional(T.Union([T.Literal('float'), T.Literal('base64')])),
    dimensions: T.Optional(tokenCount()),
    user: T.Optional(T.String({ maxLength: MAX_IDENTIFIER_LENGTH })),
  },
  { additionalProperties: true, $id: 'CreateEmbeddingRequest' },
);
