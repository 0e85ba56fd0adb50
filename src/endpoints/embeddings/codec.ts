/** The Embeddings codec (`POST /v1/embeddings`): OpenAI's shapes are canonical; no stream. */
import type { EndpointCodec } from '../../core/endpoint.js';
import type { EmbeddingRequest } from '../../providers/types.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { requestTags, TAGS_HEADER } from '../tags.js';
import { EmbeddingRequestSchema } from './schema.js';

export const EMBEDDINGS_PATH = '/v1/embeddings';

export function createEmbeddingsCodec(compile: ReturnType<typeof createSchemaCompiler>): EndpointCodec {
  const validate = compile<EmbeddingRequest>(EmbeddingRequestSchema);
  return {
    name: 'embeddings',
    path: EMBEDDINGS_PATH,
    summary: 'Create embeddings (OpenAI-compatible)',
    bodySchema: EmbeddingRequestSchema,
    decode(raw, headers) {
      const body = validate(parseJsonBody(raw));
      const tags = requestTags(undefined, headers?.[TAGS_HEADER]);
      return { kind: 'embeddings', model: body.model, stream: false, body, tags };
    },
    encode: (result) => result.body,
  };
}
