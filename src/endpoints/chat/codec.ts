/**
 * The Chat Completions codec (`POST /v1/chat/completions`): OpenAI's request and answer are the canonical
 * shapes, so decoding is parse + validate and encoding is the answer itself. Streams are written as
 * `data: <chat.completion.chunk>\n\n` events ending with `data: [DONE]`.
 *
 * Stream chunks from an OpenAI-compatible upstream pass through as the bytes the upstream sent (no
 * re-serialisation) unless the chunk must change: the usage the gateway asked for on the client's behalf is
 * stripped again when the client did not ask for it (`stream_options.include_usage`).
 */
import type { CanonicalRequest, PromptReference } from '../../core/context.js';
import type { EndpointCodec } from '../../core/endpoint.js';
import { rawChunkText } from '../../providers/sse.js';
import type { ChatCompletionChunk, ChatRequest } from '../../providers/types.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { takePromptReference } from '../prompt-ref.js';
import { metadataTags, requestTags, TAGS_HEADER } from '../tags.js';
import { ChatRequestDocSchema, ChatRequestSchema, PromptedChatRequestSchema } from './schema.js';
import { validateChatRequest } from './validate.js';

export const CHAT_PATH = '/v1/chat/completions';

const USAGE_NULL = ',"usage":null';
const DONE = 'data: [DONE]\n\n';

/** Creates the codec (its schema validator is compiled here, once). */
export function createChatCodec(compile: ReturnType<typeof createSchemaCompiler>): EndpointCodec {
  const validate = compile<ChatRequest>(ChatRequestSchema);
  const validatePrompted = compile<Partial<ChatRequest>>(PromptedChatRequestSchema);
  return {
    name: 'chat',
    path: CHAT_PATH,
    summary: 'Create a chat completion (OpenAI-compatible)',
    bodySchema: ChatRequestDocSchema,
    decode(raw, headers) {
      const parsed = parseJsonBody(raw);
      // `prompt`/`experiment` (gateway extensions) leave the body here: they never reach a provider.
      const prompt = takePromptReference(parsed);
      if (prompt) {
        const sent = validatePrompted(parsed);
        const tags = requestTags(metadataTags(sent.metadata), headers?.[TAGS_HEADER]);
        return { ...promptedRequest(withoutGatewayMetadata(sent as ChatRequest), prompt), tags };
      }
      const sent = validate(parsed);
      validateChatRequest(sent);
      const tags = requestTags(metadataTags(sent.metadata), headers?.[TAGS_HEADER]);
      const body = withoutGatewayMetadata(sent);
      return { kind: 'chat', model: body.model, stream: body.stream === true, body, tags };
    },
    encode: (result) => result.body,
    stream: CHAT_STREAM,
  };
}

/** Chat Completions streaming (also used by `/v1/prompts/{id}/completions`). */
export const CHAT_STREAM: EndpointCodec['stream'] = {
  open: (request) => ({
    chunk: (chunk) => writeChunk(request, chunk),
    end: () => DONE,
    error: (body) => `data: ${JSON.stringify(body)}\n\n`,
  }),
};

/**
 * The canonical request of a body that references a prompt: model and messages may come from the prompt,
 * so they are checked (with the cross-field rules) by the prompt stage once it rendered them.
 */
export function promptedRequest(body: Partial<ChatRequest>, prompt: PromptReference): CanonicalRequest {
  const complete = { ...body, model: body.model ?? '', messages: body.messages ?? [] } as ChatRequest;
  return { kind: 'chat', model: complete.model, stream: body.stream === true, body: complete, prompt };
}

/** Validates a rendered chat body (schema and cross-field rules), as decode does a plain one. */
export function createChatValidator(
  compile: ReturnType<typeof createSchemaCompiler>,
): (body: unknown) => ChatRequest {
  // Without its $id: the chat codec compiled the schema under that id already (one Ajv instance).
  const { $id: _id, ...schema } = ChatRequestSchema;
  const validate = compile<ChatRequest>(schema as typeof ChatRequestSchema);
  return (value) => {
    const body = validate(value);
    validateChatRequest(body);
    return body;
  };
}

/**
 * The body providers get: `metadata` only with `store: true` (OpenAI refuses metadata without it, and other
 * servers do not know it). Its `tags` go as sent when they are a string (valid OpenAI metadata, kept with a
 * stored completion as on the Responses API); the array form, the gateway's extension that OpenAI would
 * refuse, does not (decision 0108).
 */
export function withoutGatewayMetadata(body: ChatRequest): ChatRequest {
  if (body.metadata === undefined) return body;
  const { metadata, ...rest } = body;
  if (body.store !== true || metadata === null) return rest as ChatRequest;
  if (typeof (metadata as Record<string, unknown>).tags !== 'object') return body;
  const { tags: _tags, ...kept } = metadata as Record<string, unknown>;
  return Object.keys(kept).length > 0 ? ({ ...rest, metadata: kept } as ChatRequest) : (rest as ChatRequest);
}

/** One chunk as an SSE event, without the usage the client did not ask for. */
function writeChunk(request: CanonicalRequest, chunk: ChatCompletionChunk): string | null {
  const includeUsage = request.kind === 'chat' && request.body.stream_options?.include_usage === true;
  const raw = rawChunkText(chunk);
  if (includeUsage || chunk.usage === undefined) {
    return `data: ${raw ?? JSON.stringify(chunk)}\n\n`;
  }
  if (chunk.usage !== null && chunk.choices.length === 0) return null; // the usage-only chunk
  // `"usage":null` on every chunk (the gateway asked for usage): cut it from the upstream's bytes. In JSON
  // text an unescaped `,"usage":null` followed by `,` or `}` can only be a key of an object (never inside
  // a string); the chunk's own is the last one (delta fields carry no `usage`).
  if (chunk.usage === null && raw !== undefined) {
    const at = raw.lastIndexOf(USAGE_NULL);
    const after = raw.charCodeAt(at + USAGE_NULL.length);
    if (at > 0 && (after === 0x7d || after === 0x2c)) {
      return `data: ${raw.slice(0, at)}${raw.slice(at + USAGE_NULL.length)}\n\n`;
    }
  }
  const { usage: _dropped, ...rest } = chunk;
  return `data: ${JSON.stringify(rest)}\n\n`;
}
