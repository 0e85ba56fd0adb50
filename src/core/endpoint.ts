/**
 * The endpoint codec contract (DESIGN §2): an inbound API (chat completions, embeddings, later Anthropic
 * messages and OpenAI responses) is a codec — it decodes its wire format into the canonical request and
 * writes the canonical result back in that format. A new inbound API is a new codec; no stage changes.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { CanonicalRequest, EndpointName } from './context.js';
import type { JsonResult } from './result.js';

/** How a streamed answer is written (server-sent events). */
export interface StreamEncoding {
  /** The event text of one chunk (`data: …\n\n`), or null to send nothing for it. */
  chunk(request: CanonicalRequest, chunk: ChatCompletionChunk): string | null;
  /** What ends a complete stream (`data: [DONE]\n\n`). */
  readonly done: string;
  /** The event that ends a failed stream, from the error body. */
  error(body: unknown): string;
}

export interface EndpointCodec {
  readonly name: EndpointName;
  /** HTTP path (POST). */
  readonly path: string;
  /** OpenAPI: summary and the body schema (documentation; `decode` validates with the same schema). */
  readonly summary: string;
  readonly bodySchema: TSchema;
  /** Parses and validates a raw body. @throws BadRequestError (400) / ValidationError (422). */
  decode(raw: string): CanonicalRequest;
  /** The JSON body of a whole answer. */
  encode(result: JsonResult): unknown;
  /** Set when the endpoint can stream. */
  readonly stream?: StreamEncoding;
}
