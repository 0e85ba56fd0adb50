/**
 * The endpoint codec contract (DESIGN §2): an inbound API (chat completions, embeddings, later Anthropic
 * messages and OpenAI responses) is a codec — it decodes its wire format into the canonical request and
 * writes the canonical result back in that format. A new inbound API is a new codec; no stage changes.
 */
import type { TSchema } from '@sinclair/typebox';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { CanonicalRequest, EndpointName, RequestContext } from './context.js';
import type { GatewayError } from './errors.js';
import type { JsonResult } from './result.js';

/**
 * Writes one streamed answer (server-sent events). An encoder may keep state across chunks (an API whose
 * events are not one per chunk — content blocks opened and closed, a final event carrying the totals).
 */
export interface StreamEncoder {
  /** The event text of one chunk (`data: …\n\n`), or null to send nothing for it. */
  chunk(chunk: ChatCompletionChunk): string | null;
  /** What ends a complete stream (`data: [DONE]\n\n`). */
  end(): string;
  /** The event that ends a failed stream, from the error body (OpenAI's error envelope) and the error. */
  error(body: unknown, error?: GatewayError): string;
}

/** How an endpoint streams: one encoder per streamed answer. */
export interface StreamEncoding {
  /** `ctx`: for an encoder whose per-request state a stage keeps in a `Slot`. */
  open(request: CanonicalRequest, ctx: RequestContext): StreamEncoder;
}

export interface EndpointCodec {
  readonly name: EndpointName;
  /** HTTP path (POST). */
  readonly path: string;
  /** OpenAPI: summary and the body schema (documentation; `decode` validates with the same schema). */
  readonly summary: string;
  readonly bodySchema: TSchema;
  /**
   * Parses and validates a raw body; `headers` (the client's) for an API whose headers belong to the request
   * (`anthropic-version`, `anthropic-beta`); `params` the route's path parameters. @throws BadRequestError (400) / ValidationError (422).
   */
  decode(
    raw: string,
    headers?: Readonly<Record<string, string | string[] | undefined>>,
    params?: Readonly<Record<string, string>>,
  ): CanonicalRequest;
  /** The JSON body of a whole answer. */
  encode(result: JsonResult): unknown;
  /** Set when the endpoint can stream. */
  readonly stream?: StreamEncoding;
  /**
   * The error body in this API's format, from the error and its OpenAI envelope (`{"error": {…}}`, already
   * scrubbed of secrets). Unset: the OpenAI envelope is sent.
   */
  errorBody?(error: GatewayError, openai: unknown): unknown;
  /** The HTTP status of an error answer in this API; unset: the error's own `status`. */
  errorStatus?(error: GatewayError): number;
  /** OpenAPI (and response serialisation) schema of `errorBody`'s bodies; unset: OpenAI's envelope. */
  readonly errorSchema?: TSchema;
}
