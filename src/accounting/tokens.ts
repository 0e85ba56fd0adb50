/**
 * Local token counts, used only when the upstream reports no usage, and the tokenizer-free bound that
 * budget reservations use.
 *
 * OpenAI-family models are counted with `gpt-tokenizer` (o200k_base for gpt-4o, gpt-4.1, gpt-5 and the
 * o-series; cl100k_base for gpt-4 and gpt-3.5). The encodings are large (~140 ms and a few MB to load), so
 * each is imported on first use, never at start. Every other model is approximated as one token per
 * 4 characters (rounded up) — the rule of thumb Anthropic and Google give for English text; counts made
 * this way are marked estimated in the usage record.
 */
import type { ChatRequest, EmbeddingRequest } from '../providers/types.js';

type Encoding = 'o200k_base' | 'cl100k_base';
type Counter = (text: string) => number;

/** OpenAI chat framing: tokens per message and for the reply's priming (OpenAI cookbook). */
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
const CHARS_PER_TOKEN = 4;

/** Which encoding an OpenAI model uses; null = not an OpenAI encoding (approximate). */
export function encodingFor(model: string): Encoding | null {
  const name = model.slice(model.lastIndexOf('/') + 1);
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)/.test(name)) return 'o200k_base';
  if (/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)/.test(name)) return 'cl100k_base';
  return null;
}

/** Lazily loaded encoders, one per encoding, per process (stateless, so safe to share). */
const loaded = new Map<Encoding, Promise<Counter>>();

function loadEncoder(encoding: Encoding): Promise<Counter> {
  let counter = loaded.get(encoding);
  if (!counter) {
    counter = (
      encoding === 'o200k_base'
        ? import('gpt-tokenizer/encoding/o200k_base')
        : import('gpt-tokenizer/encoding/cl100k_base')
    ).then((m) => (text: string) => m.countTokens(text));
    loaded.set(encoding, counter);
  }
  return counter;
}

/** The approximation for non-OpenAI models: ceil(characters / 4). */
export function approximateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * BPE merging is quadratic in the length of one word (a 32 KB run without spaces takes seconds), so text is
 * encoded in segments of at most this many characters, cut at a space where there is one; and only the
 * first MAX_EXACT_CHARS are encoded, the rest approximated. Both change a count by well under 1 %.
 */
const SEGMENT_CHARS = 512;
const MAX_EXACT_CHARS = 65_536;

function countSegmented(text: string, count: Counter): number {
  const exact = text.length > MAX_EXACT_CHARS ? text.slice(0, MAX_EXACT_CHARS) : text;
  let tokens = 0;
  for (let start = 0; start < exact.length; ) {
    let end = Math.min(start + SEGMENT_CHARS, exact.length);
    if (end < exact.length) {
      const space = exact.lastIndexOf(' ', end);
      if (space > start + SEGMENT_CHARS / 2) end = space;
    }
    tokens += count(exact.slice(start, end));
    start = end;
  }
  return tokens + approximateTokens(text.slice(MAX_EXACT_CHARS));
}

/** Tokens of a text for `model`: exact for OpenAI encodings (bounded work), approximated otherwise. */
export async function countTextTokens(text: string, model: string): Promise<number> {
  if (text.length === 0) return 0;
  const encoding = encodingFor(model);
  if (encoding === null) return approximateTokens(text);
  return countSegmented(text, await loadEncoder(encoding));
}

/** The text of a message's content (string or content parts; images and audio are not counted). */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      text += (part as { text: string }).text;
    }
  }
  return text;
}

/** Every counted text of a chat request: message contents, names, tool calls and tool definitions. */
export function promptText(body: ChatRequest | EmbeddingRequest): { text: string; messages: number } {
  if ('messages' in body && Array.isArray(body.messages)) {
    const parts: string[] = [];
    for (const message of body.messages) {
      parts.push(contentText((message as { content?: unknown }).content));
      const m = message as { name?: unknown; tool_calls?: unknown };
      if (typeof m.name === 'string') parts.push(m.name);
      if (m.tool_calls) parts.push(JSON.stringify(m.tool_calls));
    }
    if (body.tools) parts.push(JSON.stringify(body.tools));
    return { text: parts.join('\n'), messages: body.messages.length };
  }
  const input = (body as EmbeddingRequest).input;
  const text = typeof input === 'string' ? input : Array.isArray(input) ? input.join('\n') : '';
  return { text, messages: 0 };
}

/**
 * An upper bound of a request's prompt tokens without a tokenizer: its UTF-8 bytes plus the chat framing.
 * Byte-level BPE (OpenAI, Llama 3, Qwen …) and byte-fallback SentencePiece (Gemini, Mistral …) never make
 * more tokens than bytes. Used by budget reservations, where over-estimating is safe and loading a
 * tokenizer (~60 MB, ~100 ms of blocked event loop) on the request path is not.
 */
export function promptTokensUpperBound(body: ChatRequest | EmbeddingRequest): number {
  const { text, messages } = promptText(body);
  const framing = messages > 0 ? messages * TOKENS_PER_MESSAGE + REPLY_PRIMING : 0;
  return Buffer.byteLength(text, 'utf8') + framing;
}

/** A request's prompt tokens by the 4-characters rule (no tokenizer), for answers cut off mid-way. */
export function approximatePromptTokens(body: ChatRequest | EmbeddingRequest): number {
  const { text, messages } = promptText(body);
  return approximateTokens(text) + (messages > 0 ? messages * TOKENS_PER_MESSAGE + REPLY_PRIMING : 0);
}

/** Prompt tokens of a request as the upstream would count them (OpenAI framing; approximate elsewhere). */
export async function countPromptTokens(
  body: ChatRequest | EmbeddingRequest,
  model: string,
): Promise<number> {
  const { text, messages } = promptText(body);
  const framing = messages > 0 ? messages * TOKENS_PER_MESSAGE + REPLY_PRIMING : 0;
  return (await countTextTokens(text, model)) + framing;
}

/**
 * The most output tokens a request can be billed for: every choice (`n`, default 1) times its output limit
 * (`max_completion_tokens`, else `max_tokens`, else `defaultMax` — the model decides the length then, and
 * the gateway cannot know its maximum). Embeddings produce none. Budget reservations and the estimate of
 * an attempt that failed without a visible answer both use it.
 */
export function worstCaseOutputTokens(body: ChatRequest | EmbeddingRequest, defaultMax: number): number {
  if (!('messages' in body)) return 0;
  const chat = body as ChatRequest;
  const limit = chat.max_completion_tokens ?? chat.max_tokens ?? defaultMax;
  const choices = typeof chat.n === 'number' && chat.n > 1 ? chat.n : 1;
  return choices * Math.max(1, limit);
}
