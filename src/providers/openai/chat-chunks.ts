/**
 * OpenAI's `chat.completion.chunk` events, checked, each keeping the event text it was parsed from, and two
 * repairs for OpenAI-compatible servers that stray from OpenAI's stream (decision 0207):
 *
 * - **Tool calls without `index`** (Gemini's OpenAI-compatible endpoint, older Ollama): every consumer
 *   (the chat client, the cache, the Messages and Responses translations) assembles calls by `index`, so a
 *   missing one would merge every call into the first. A delta with a new `id` gets the next index, one
 *   without an `id` continues the last call. Such a chunk is re-serialised (its text is not kept).
 * - **No `data: [DONE]`**: a body that ends cleanly after every choice it started carried a
 *   `finish_reason` is complete; one that ends before is cut off.
 */
import { ProviderUnavailableError } from '../../core/errors.js';
import { type EventTranslator, keepRawText, parseEventJson, streamCutOff } from '../sse.js';
import type { ChatCompletionChunk } from '../types.js';

type ToolCallDelta = ChatCompletionChunk.Choice.Delta.ToolCall;

/** Per choice, for calls streamed without `index`: how many were opened, and the last one's id. */
interface CallsSoFar {
  count: number;
  lastId: string | undefined;
}

/** The translator of one stream (stateful: finished choices, index-less tool calls). */
export function chatChunks(provider: string): EventTranslator<ChatCompletionChunk> {
  /** Choices that sent something and no `finish_reason` yet; choices that sent one. */
  const unfinished = new Set<number>();
  const finished = new Set<number>();
  /** Created on the first call without `index` (most streams never need it). */
  let calls: Map<number, CallsSoFar> | null = null;

  /** Gives each call without `index` one; true when it changed any. */
  const indexCalls = (choice: number, deltas: ToolCallDelta[]): boolean => {
    let changed = false;
    for (const call of deltas) {
      if (typeof call.index === 'number') continue;
      calls ??= new Map();
      let sofar = calls.get(choice);
      if (sofar === undefined) {
        sofar = { count: 0, lastId: undefined };
        calls.set(choice, sofar);
      }
      const id = typeof call.id === 'string' && call.id !== '' ? call.id : undefined;
      if (sofar.count === 0 || (id !== undefined && id !== sofar.lastId)) {
        sofar.count++;
        sofar.lastId = id;
      }
      call.index = sofar.count - 1;
      changed = true;
    }
    return changed;
  };

  return {
    event(event, out) {
      if (event.data === '[DONE]') return true;
      const chunk = parseEventJson<(ChatCompletionChunk & { error?: { message?: unknown } }) | null>(
        provider,
        event.data,
      );
      if (!isObject(chunk)) throw notAChunk(provider);
      if (chunk.error !== undefined || event.event === 'error') {
        const message = typeof chunk.error?.message === 'string' ? `: ${chunk.error.message}` : '.';
        throw new ProviderUnavailableError(`${provider} reported an error mid-stream${message}`, provider);
      }
      if (!Array.isArray(chunk.choices) || !chunk.choices.every(isObject)) throw notAChunk(provider);
      let changed = false;
      for (const choice of chunk.choices) {
        const tools = (choice.delta as ChatCompletionChunk.Choice.Delta | undefined)?.tool_calls;
        if (Array.isArray(tools) && indexCalls(choice.index, tools)) changed = true;
        if (choice.finish_reason) {
          unfinished.delete(choice.index);
          finished.add(choice.index);
        } else if (!finished.has(choice.index)) {
          unfinished.add(choice.index);
        }
      }
      if (!changed) keepRawText(chunk, event.data);
      out.push(chunk);
      return false;
    },
    end() {
      // No `[DONE]`: complete when every choice finished (usage, if any, came before the body ended).
      if (finished.size === 0 || unfinished.size > 0) throw streamCutOff(provider);
    },
  };
}

function notAChunk(provider: string): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${provider} sent a stream event that is not a chat.completion.chunk.`,
    provider,
  );
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
