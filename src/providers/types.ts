/**
 * The provider spec: what every adapter implements and the wire types it speaks.
 *
 * Wire formats are OpenAI's, typed from the official SDK (type-only imports). Adapters translate to and from
 * their provider's format and raise only the error types of `../errors.ts`.
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import type { Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import type { StreamLiveness } from '../core/liveness.js';

export type { ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam };

/**
 * A validated chat request as the client sent it. Unknown fields are kept: OpenAI-compatible upstreams
 * receive them unchanged.
 */
export type ChatRequest = ChatCompletionCreateParams & Record<string, unknown>;

/** A validated embeddings request (unknown fields kept for OpenAI-compatible upstreams). */
export type EmbeddingRequest = EmbeddingCreateParams & Record<string, unknown>;

/** OpenAI's embeddings answer: `{object: 'list', data: [{object: 'embedding', index, embedding}], model, usage}`. */
export type EmbeddingResponse = CreateEmbeddingResponse;

/** Token usage in OpenAI's shape. */
export type Usage = NonNullable<ChatCompletion['usage']>;

/**
 * The body as the client sent it in another API's format (Anthropic Messages, OpenAI Responses): a provider
 * that speaks that API natively is sent it as it is (no translation loss); every other provider gets the
 * canonical request the endpoint codec translated it to (`CanonicalRequest.native` carries it).
 */
export interface NativeRequest {
  readonly api: 'anthropic-messages' | 'openai-responses';
  readonly body: unknown;
  /** API headers to forward (`anthropic-version`, `anthropic-beta`), lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Per-call inputs an adapter needs besides the request. */
export interface CallOptions {
  /** The upstream model name to ask for (the deployment's model, not the client's alias). */
  model: string;
  /** Aborted on client disconnect, attempt timeout or total timeout. */
  signal: AbortSignal;
  /** Gateway request id, sent upstream as `X-Request-ID` for correlation. */
  requestId: string;
  /** W3C `traceparent` of this attempt's span, sent upstream when the request is traced. */
  traceparent?: string | undefined;
  /** W3C `tracestate` sent upstream with `traceparent` (the client's, passed on). */
  tracestate?: string | undefined;
  /**
   * The client's body in another API's format (Anthropic Messages …): an adapter that speaks that API sends
   * it as is instead of translating the canonical request, and marks its answer (see its `native.ts`).
   */
  native?: NativeRequest | undefined;
  /**
   * Streams: where the SSE reader notes every event and comment the upstream sends, translated or not
   * (thinking, pings), so the stream timers know it is alive (decision 0225). Pass it to `sseItems`.
   */
  heard?: StreamLiveness | undefined;
}

/** A stream of OpenAI chunks. Errors while iterating are `ProviderError`s. */
export type ChunkStream = AsyncIterable<ChatCompletionChunk>;

/**
 * One configured provider endpoint (OpenAI, a Groq account, an Anthropic key …).
 *
 * Contract:
 * - `chat` resolves with an OpenAI `chat.completion`, or rejects with a `ProviderError`.
 * - `chatStream` resolves once the upstream accepted the request (HTTP status checked), so failures before
 *   any chunk reject here; the returned stream yields OpenAI chunks. It always ends with a usage chunk
 *   (`choices: []`, `usage` set) when the provider reported usage, whatever the client asked: the pipeline
 *   strips it when the client did not ask. A stream that ends before the provider signalled completion
 *   throws `ProviderUnavailableError` instead of ending quietly.
 */
export interface ProviderAdapter {
  /** Configured provider name (`openai`, `groq`, `my-vllm` …): shown in `X-Provider`, logs, metrics. */
  readonly name: string;
  /** Adapter family (`openai`, `azure`, `anthropic`, `gemini`). */
  readonly type: ProviderType;
  /** Inbound APIs this provider serves natively (`openai-responses`): it receives `CallOptions.native`. */
  readonly nativeApis?: readonly string[];
  chat(req: ChatRequest, call: CallOptions): Promise<ChatCompletion>;
  chatStream(req: ChatRequest, call: CallOptions): Promise<ChunkStream>;
  /**
   * OpenAI embeddings. `embedding` is a float array, or base64 of little-endian float32 values when the
   * request asked for `encoding_format: 'base64'`. A provider without embeddings rejects with a
   * `BadRequestError` (`unsupported_parameter`, param `model`).
   */
  embed(req: EmbeddingRequest, call: CallOptions): Promise<EmbeddingResponse>;
  /**
   * Output tokens the upstream is asked to spend on thinking on top of the client's output limit for
   * `req` (Anthropic's `budget_tokens` added to `max_tokens`, Gemini's `thinkingBudget`): part of how long
   * the answer may take (routing/fault.ts). Absent or 0: the client's limit is the upstream's.
   */
  thinkingTokens?(req: ChatRequest, model: string): number;
  /**
   * Counts the input tokens of a native request with the provider's own counter (Anthropic's
   * `/v1/messages/count_tokens`). Absent: the provider has none for that API (the gateway counts locally).
   */
  countTokens?(native: NativeRequest, call: CallOptions): Promise<number>;
  /**
   * Deletes an object the provider stores for a native API (OpenAI's `DELETE /v1/responses/{id}` for
   * `openai-responses`): true once deleted, false when the provider does not know the id (404). Other
   * failures reject with a `ProviderError`. Absent: the provider stores nothing for the gateway's callers.
   */
  deleteNative?(api: string, id: string, call: Omit<CallOptions, 'model'>): Promise<boolean>;
}

export type ProviderType = 'openai' | 'azure' | 'anthropic' | 'gemini';

/** What an adapter factory receives: resolved settings and shared infrastructure. */
export interface ProviderSettings {
  name: string;
  type: ProviderType;
  /** Base URL without trailing slash, e.g. `https://api.openai.com/v1`. */
  baseUrl: string;
  /** The secret, read from env by `main.ts`; undefined for keyless servers (Ollama, vLLM). */
  apiKey: string | undefined;
  /** Name of the env variable the key came from, for error messages (never the key itself). */
  apiKeyEnv: string | undefined;
  /** Extra static headers sent with every call (e.g. OpenRouter's `HTTP-Referer`). */
  headers: Record<string, string>;
  /** Azure OpenAI `api-version`. */
  apiVersion?: string | undefined;
  /** Anthropic needs `max_tokens`; used when the client sent none. */
  defaultMaxTokens: number;
}

/** Shared infrastructure handed to every adapter. */
export interface ProviderDeps {
  /** Pooled keep-alive HTTP dispatcher (undici Agent). */
  dispatcher: Dispatcher;
  /**
   * The gateway's clock: wall time for translated answers' `created` and for Retry-After dates. Adapters
   * use the real clock when absent.
   */
  clock?: Pick<Clock, 'wallNow'> | undefined;
}
