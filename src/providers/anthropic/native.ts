/**
 * Native passthrough of Anthropic Messages requests (DESIGN §16): a client that speaks the Messages API
 * (`POST /v1/messages`) and is routed to an Anthropic deployment gets its body sent as it is — thinking,
 * `cache_control`, documents, beta headers untouched — and Anthropic's answer back as Anthropic sent it.
 *
 * The pipeline still works on the canonical (OpenAI) answer: usage, finish reason, text for the cache and
 * accounting come from the usual translation. The Anthropic original rides along, held weakly on the
 * translated object (like `keepRawText` in ../sse.ts): the Message on the `chat.completion`, and the SSE
 * events on the chunks they translated to. The messages codec writes those when present.
 */
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { extend } from '../../core/shapes.js';
import { type EventSourceMessage, type EventTranslator, streamCutOff } from '../sse.js';
import type { NativeRequest } from '../types.js';
import type { TranslateOptions } from './response.js';
import { ChunkTranslator } from './stream.js';

/** The `NativeRequest.api` this adapter speaks. */
export const ANTHROPIC_MESSAGES_API = 'anthropic-messages';

/** Client headers forwarded to Anthropic with a native request. */
export const FORWARDED_HEADERS = ['anthropic-version', 'anthropic-beta'] as const;

const MESSAGES = new WeakMap<object, unknown>();
const EVENTS = new WeakMap<object, string>();

/** Whether `native` is a Messages API body this adapter can send as is. */
export function isAnthropicNative(native: NativeRequest | undefined): native is NativeRequest {
  return native?.api === ANTHROPIC_MESSAGES_API && typeof native.body === 'object' && native.body !== null;
}

/** The client's body for the upstream: the deployment's model, `stream` as the call needs it. */
export function nativeBody(native: NativeRequest, model: string, stream: boolean): Record<string, unknown> {
  const { stream: _client, ...body } = native.body as Record<string, unknown>;
  return stream ? extend(body, { model, stream: true }) : extend(body, { model });
}

/** The Anthropic Message a translated completion came from (native passthrough), if any. */
export function anthropicMessageOf(completion: object): unknown {
  return MESSAGES.get(completion);
}

/** Marks a translated completion with the Message it came from. */
export function keepAnthropicMessage(completion: ChatCompletion, message: unknown): ChatCompletion {
  MESSAGES.set(completion, message);
  return completion;
}

/** The SSE text (`event: …\ndata: …\n\n`, one or more events) a translated chunk carries, if any. */
export function anthropicEventsOf(chunk: object): string | undefined {
  return EVENTS.get(chunk);
}

/** One SSE event as Anthropic framed it; multi-line data (legal SSE) stays multi-line. */
function frame(event: EventSourceMessage): string {
  const name = event.event ? `event: ${event.event}\n` : '';
  return `${name}data: ${event.data.split('\n').join('\ndata: ')}\n\n`;
}

/**
 * Translates an Anthropic event stream like `anthropicChunks` and attaches every event's own text to the
 * chunks: each event travels on the first chunk it translated to, or on a carrier chunk (no choices, no
 * usage) when it has no translation (ping, content_block_stop, thinking deltas), so nothing is delayed.
 * An `error` event or a stream cut off before `message_stop` throws, as in the translation.
 */
export function anthropicNativeChunks(
  provider: string,
  options: TranslateOptions,
): EventTranslator<ChatCompletionChunk> {
  const translator = new ChunkTranslator(provider, options);
  let pending = '';
  return {
    event(event, out) {
      pending += frame(event);
      const chunks = event.event === 'ping' ? [] : translator.handleEvent(event);
      if (!translator.opened) return false; // before message_start: held for the first chunk
      const first = chunks[0] ?? translator.carrier();
      EVENTS.set(first, pending);
      pending = '';
      if (chunks.length === 0) out.push(first);
      else for (let i = 0; i < chunks.length; i++) out.push(chunks[i] as ChatCompletionChunk);
      return translator.done;
    },
    end() {
      throw streamCutOff(provider);
    },
  };
}
