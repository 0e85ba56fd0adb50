/**
 * OpenAI embeddings request → Gemini `models/{model}:batchEmbedContents` calls → OpenAI embeddings answer.
 *
 * Wire shape (Gemini API, v1beta):
 * - request  `{ requests: [{ model: 'models/{model}', content: { parts: [{ text }] }, outputDimensionality? }] }`,
 *   one entry per input text; every entry must name the model of the URL.
 * - response `{ embeddings: [{ values: number[] }] }`, in request order. The API reference has lately
 *   grown an optional `usageMetadata: { promptTokenCount }`; older surfaces and the `@google/genai` SDK
 *   types (Gemini API mode) carry no token count at all. So usage is read from `usageMetadata` when
 *   present and is `{ prompt_tokens: 0, total_tokens: 0 }` otherwise: the gateway does not invent counts.
 *
 * Limits: Gemini rejects a batch of more than 100 requests ("at most 100 requests can be in one batch";
 * enforced by the API, not stated in its reference). Larger inputs are split into batches of 100, sent at
 * most `EMBED_CONCURRENCY` at a time, and concatenated in input order; the first failure aborts the
 * others and is what the call rejects with. Inputs are capped at OpenAI's own limit of 2048 per request,
 * which bounds the fan-out to 21 upstream calls.
 *
 * Rejected with `unsupported_parameter`: token-array inputs (`number[]`, `number[][]`), since Gemini takes
 * text only. Rejected as invalid: empty strings (Gemini refuses empty text), empty arrays, more than 2048
 * inputs, a `dimensions` that is not a positive integer, an unknown `encoding_format`.
 * Dropped silently: `user` and unknown extra fields (Gemini has nothing to put them in).
 */
import { standardSignal } from '../../core/abort.js';
import { BadRequestError, ProviderUnavailableError } from '../../core/errors.js';
import { networkError } from '../http.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../types.js';

/** Most requests Gemini accepts in one `batchEmbedContents` call. */
export const GEMINI_EMBED_BATCH_LIMIT = 100;
/** Most inputs accepted per embeddings request (OpenAI's documented array limit). */
export const MAX_EMBEDDING_INPUTS = 2048;
/** Most `batchEmbedContents` calls in flight for one embeddings request. */
export const EMBED_CONCURRENCY = 4;

/** One entry of `requests`: Gemini's `EmbedContentRequest` as sent by this adapter. */
export interface GeminiEmbedContentRequest {
  /** `models/{model}`; must match the model of the URL. */
  model: string;
  content: { parts: [{ text: string }] };
  outputDimensionality?: number;
}

/** The JSON body of `models/{model}:batchEmbedContents`. */
export interface GeminiBatchEmbedBody {
  requests: GeminiEmbedContentRequest[];
}

/** One batch's vectors and reported prompt tokens (0 when Gemini reported none). */
export interface GeminiBatchEmbedResult {
  vectors: number[][];
  promptTokens: number;
}

/** Posts one batch body and resolves with the parsed JSON answer and its HTTP status. */
export type BatchEmbedSender = (
  body: GeminiBatchEmbedBody,
  signal: AbortSignal,
) => Promise<{ json: unknown; status: number }>;

export interface GeminiEmbedOptions {
  /** Bare Gemini model id (no `models/` prefix): goes into each request and the answer's `model`. */
  model: string;
  /** Configured provider name, for errors. */
  provider: string;
  signal: AbortSignal;
  send: BatchEmbedSender;
}

/**
 * Validates an OpenAI embeddings request and splits it into `batchEmbedContents` bodies of at most 100
 * requests each. Throws `BadRequestError` (with `param`) for what Gemini cannot embed.
 *
 * @example
 * toGeminiEmbedBatches({ model: 'x', input: 'Hi', dimensions: 256 }, 'gemini-embedding-001')
 * // → [{ requests: [{ model: 'models/gemini-embedding-001', content: { parts: [{ text: 'Hi' }] },
 * //                   outputDimensionality: 256 }] }]
 */
export function toGeminiEmbedBatches(req: EmbeddingRequest, model: string): GeminiBatchEmbedBody[] {
  const texts = embeddingTexts(req.input);
  const dimensions = outputDimensionality(req.dimensions);
  encodingFormat(req.encoding_format);
  const requests = texts.map(
    (text): GeminiEmbedContentRequest => ({
      model: `models/${model}`,
      content: { parts: [{ text }] },
      ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
    }),
  );
  const batches: GeminiBatchEmbedBody[] = [];
  for (let i = 0; i < requests.length; i += GEMINI_EMBED_BATCH_LIMIT) {
    batches.push({ requests: requests.slice(i, i + GEMINI_EMBED_BATCH_LIMIT) });
  }
  return batches;
}

/**
 * Checks one `batchEmbedContents` answer: an `embeddings` array with exactly `expected` entries, each with
 * a non-empty array of finite numbers. Anything else is `ProviderUnavailableError` (retriable, like any
 * malformed upstream answer).
 */
export function readBatchEmbedResponse(
  json: unknown,
  expected: number,
  provider: string,
  upstreamStatus?: number,
): GeminiBatchEmbedResult {
  const malformed = (why: string) =>
    new ProviderUnavailableError(
      `${provider} answered with something that is not a Gemini embeddings response (${why}).`,
      provider,
      upstreamStatus === undefined ? {} : { upstreamStatus },
    );
  const embeddings = field(json, 'embeddings');
  if (!Array.isArray(embeddings)) throw malformed('no embeddings array');
  if (embeddings.length !== expected) {
    throw malformed(`${embeddings.length} embeddings for ${expected} inputs`);
  }
  const vectors = embeddings.map((embedding, i) => {
    const values = field(embedding, 'values');
    if (!Array.isArray(values) || values.length === 0) throw malformed(`embeddings[${i}] has no values`);
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw malformed(`embeddings[${i}] has values that are not numbers`);
    }
    return values as number[];
  });
  // Only newer API surfaces report usage; absent means unknown, counted as 0 (see the file comment).
  const count = field(field(json, 'usageMetadata'), 'promptTokenCount');
  const promptTokens = typeof count === 'number' && Number.isFinite(count) && count > 0 ? count : 0;
  return { vectors, promptTokens };
}

/**
 * Builds OpenAI's embeddings answer. With `encoding_format: 'base64'` each embedding is the base64 of its
 * little-endian float32 bytes, as OpenAI sends it.
 */
export function toEmbeddingResponse(
  vectors: readonly number[][],
  promptTokens: number,
  model: string,
  format: 'float' | 'base64' = 'float',
): EmbeddingResponse {
  return {
    object: 'list',
    data: vectors.map((values, index) => ({
      object: 'embedding',
      index,
      // The SDK types `embedding` as number[] only; base64 strings are what OpenAI sends on request.
      embedding: format === 'base64' ? (float32Base64(values) as unknown as number[]) : values,
    })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** Base64 of the values as little-endian float32 (OpenAI's `encoding_format: 'base64'`). */
export function float32Base64(values: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i] as number, i * 4);
  return bytes.toString('base64');
}

/**
 * Runs a whole embeddings request against Gemini: validates, splits into batches of 100, sends them (at
 * most `EMBED_CONCURRENCY` at once), checks each answer and assembles OpenAI's answer in input order.
 * Validation errors reject before any upstream call. The first failing batch aborts the batches still in
 * flight and is the error the call rejects with.
 */
export async function embedWithGemini(
  req: EmbeddingRequest,
  options: GeminiEmbedOptions,
): Promise<EmbeddingResponse> {
  const { provider } = options;
  const batches = toGeminiEmbedBatches(req, options.model);
  const format = encodingFormat(req.encoding_format);
  const results: GeminiBatchEmbedResult[] = new Array(batches.length);
  const failed = new AbortController();
  const signal =
    batches.length > 1 ? AbortSignal.any([standardSignal(options.signal), failed.signal]) : options.signal;
  let next = 0;

  async function worker(): Promise<void> {
    while (next < batches.length) {
      if (signal.aborted) throw networkError(provider, signal.reason, signal);
      const i = next++;
      const body = batches[i] as GeminiBatchEmbedBody;
      try {
        const { json, status } = await options.send(body, signal);
        results[i] = readBatchEmbedResponse(json, body.requests.length, provider, status);
      } catch (err) {
        failed.abort(err);
        throw err;
      }
    }
  }

  const workers = Math.min(EMBED_CONCURRENCY, batches.length);
  await Promise.all(Array.from({ length: workers }, worker));
  const vectors = results.flatMap((r) => r.vectors);
  const promptTokens = results.reduce((sum, r) => sum + r.promptTokens, 0);
  return toEmbeddingResponse(vectors, promptTokens, options.model, format);
}

/** The texts to embed, in order. */
function embeddingTexts(input: unknown): string[] {
  const invalid = (message: string) => new BadRequestError(message, 'invalid_request', { param: 'input' });
  const empty = (where: string) => invalid(`${where} is an empty string; Gemini cannot embed empty text.`);
  if (typeof input === 'string') {
    if (input === '') throw empty('`input`');
    return [input];
  }
  if (!Array.isArray(input)) throw invalid('`input` must be a string or an array of strings.');
  if (input.length === 0) throw invalid('`input` must not be an empty array.');
  if (input.every((item) => typeof item === 'number' || Array.isArray(item))) {
    throw new BadRequestError(
      'Gemini embeds text only: token arrays are not supported as `input`. Send strings.',
      'unsupported_parameter',
      { param: 'input' },
    );
  }
  if (!input.every((item) => typeof item === 'string')) {
    throw invalid('`input` must be a string or an array of strings.');
  }
  if (input.length > MAX_EMBEDDING_INPUTS) {
    throw invalid(`\`input\` has ${input.length} items; at most ${MAX_EMBEDDING_INPUTS} are accepted.`);
  }
  const at = input.indexOf('');
  if (at !== -1) throw empty(`\`input[${at}]\``);
  return input as string[];
}

function outputDimensionality(dimensions: unknown): number | undefined {
  if (dimensions === undefined || dimensions === null) return undefined;
  if (typeof dimensions !== 'number' || !Number.isInteger(dimensions) || dimensions < 1) {
    throw new BadRequestError('`dimensions` must be a positive integer.', 'invalid_request', {
      param: 'dimensions',
    });
  }
  return dimensions;
}

function encodingFormat(format: unknown): 'float' | 'base64' {
  if (format === undefined || format === null || format === 'float') return 'float';
  if (format === 'base64') return 'base64';
  throw new BadRequestError('`encoding_format` must be "float" or "base64".', 'invalid_request', {
    param: 'encoding_format',
  });
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}
