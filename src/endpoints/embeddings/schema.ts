/**
 * The request schema of POST /v1/embeddings (OpenAI Embeddings). Unknown fields pass through to
 * OpenAI-compatible upstreams (e.g. `input_type` for some self-hosted servers).
 */
import { Type as T } from '@sinclair/typebox';
import { MAX_IDENTIFIER_LENGTH, modelName } from '../common-schema.js';

/** OpenAI's own limit on inputs per request. */
export const MAX_EMBEDDING_INPUTS = 2048;

/** POST /v1/embeddings body. */
export const EmbeddingRequestSchema = T.Object(
  {
    model: modelName('Alias, `provider/model`, or a model name with a known prefix.'),
    input: T.Union(
      [
        // OpenAI: the input "cannot be an empty string" (nor can any text of an array).
        T.String({ minLength: 1, description: 'One text.' }),
        T.Array(T.String({ minLength: 1 }), {
          minItems: 1,
          maxItems: MAX_EMBEDDING_INPUTS,
          description: 'Several texts.',
        }),
        T.Array(T.Integer(), { minItems: 1, description: 'One text as tokens.' }),
        T.Array(T.Array(T.Integer(), { minItems: 1 }), {
          minItems: 1,
          maxItems: MAX_EMBEDDING_INPUTS,
          description: 'Several texts as tokens.',
        }),
      ],
      { description: 'Text(s) to embed, as strings or token arrays.' },
    ),
    encoding_format: T.Optional(T.Union([T.Literal('float'), T.Literal('base64')])),
    dimensions: T.Optional(T.Integer({ minimum: 1 })),
    user: T.Optional(T.String({ maxLength: MAX_IDENTIFIER_LENGTH })),
  },
  { additionalProperties: true, $id: 'CreateEmbeddingRequest' },
);
