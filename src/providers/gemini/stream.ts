/**
 * Gemini `streamGenerateContent?alt=sse` events → OpenAI `chat.completion.chunk`s.
 *
 * Each event is a whole `GenerateContentResponse` holding the new text since the last one; function calls
 * arrive complete in one event. There is no end marker: the stream is complete once every candidate carried
 * a `finishReason` (or the prompt was blocked), so a body that ends before that was cut off.
 */
import type { Candidate } from '@google/genai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ProviderUnavailableError } from '../../core/errors.js';
import { type EventTranslator, parseEventJson, streamCutOff } from '../sse.js';
import {
  type FinishReason,
  type GeminiResponse,
  isGeminiResponse,
  isVisibleText,
  newCompletionId,
  toFinishReason,
  toToolCall,
  toUsage,
  type UsageMetadata,
} from './response.js';

type ChunkChoice = ChatCompletionChunk.Choice;

/** What the translation needs besides the events. */
export interface StreamContext {
  /** Configured provider name, for errors. */
  provider: string;
  /** Model asked for, reported when Gemini names no `modelVersion`. */
  model: string;
  /** OpenAI's `created` for every chunk: Unix seconds (the adapter's clock when the stream started). */
  created: number;
}

/**
 * Translates SSE events into OpenAI chunks, ending with a usage chunk (`choices: []`) when Gemini reported
 * usage. Throws `ProviderUnavailableError` for error events, malformed events and cut-off streams.
 */
export function geminiChunks(ctx: StreamContext): EventTranslator<ChatCompletionChunk> {
  const translator = new ChunkTranslator(ctx);
  return {
    event(event, out) {
      if (event.data.trim() === '') return false;
      const chunks = translator.onEvent(parseEventJson<unknown>(ctx.provider, event.data));
      for (let i = 0; i < chunks.length; i++) out.push(chunks[i] as ChatCompletionChunk);
      return false; // no end marker: the body's end decides
    },
    end(out) {
      if (!translator.finished) throw streamCutOff(ctx.provider);
      const usage = translator.usageChunk();
      if (usage) out.push(usage);
    },
  };
}

class ChunkTranslator {
  readonly #ctx: StreamContext;
  /** The prompt was blocked: the answer is complete without candidates. */
  #blocked = false;
  /** Candidate indexes that carried a `finishReason`. */
  readonly #finishedCandidates = new Set<number>();
  #header: Pick<ChatCompletionChunk, 'id' | 'object' | 'created' | 'model'> | undefined;
  #usage: UsageMetadata | undefined;
  /** Per candidate index: how many tool calls it made so far (also marks the role chunk as sent). */
  readonly #toolCalls = new Map<number, number>();

  constructor(ctx: StreamContext) {
    this.#ctx = ctx;
  }

  onEvent(payload: unknown): ChatCompletionChunk[] {
    const { provider } = this.#ctx;
    const error = (payload as { error?: { message?: unknown } } | null)?.error;
    if (error !== undefined) {
      const message = typeof error?.message === 'string' ? `: ${error.message}` : '.';
      throw new ProviderUnavailableError(`${provider} reported an error mid-stream${message}`, provider);
    }
    if (!isGeminiResponse(payload)) {
      throw new ProviderUnavailableError(
        `${provider} sent a stream event that is not a Gemini response.`,
        provider,
      );
    }
    this.#header ??= {
      id: payload.responseId ?? newCompletionId(),
      object: 'chat.completion.chunk',
      created: this.#ctx.created,
      model: payload.modelVersion ?? this.#ctx.model,
    };
    if (payload.usageMetadata) this.#usage = payload.usageMetadata;
    return this.#choices(payload).map((choice) => this.#chunk([choice]));
  }

  /** Complete once the prompt was blocked, or every candidate seen (`n` > 1 streams several) finished. */
  get finished(): boolean {
    if (this.#blocked) return true;
    const seen = [...this.#toolCalls.keys()];
    return seen.length > 0 && seen.every((index) => this.#finishedCandidates.has(index));
  }

  usageChunk(): ChatCompletionChunk | undefined {
    if (!this.#usage) return undefined;
    return { ...this.#chunk([]), usage: toUsage(this.#usage) };
  }

  #choices(payload: GeminiResponse): ChunkChoice[] {
    const candidates = payload.candidates ?? [];
    if (candidates.length === 0 && payload.promptFeedback?.blockReason !== undefined) {
      this.#blocked = true;
      return [...this.#start(0), finish(0, 'content_filter')];
    }
    return candidates.flatMap((candidate, i) => this.#candidateChoices(candidate, candidate.index ?? i));
  }

  #candidateChoices(candidate: Candidate, index: number): ChunkChoice[] {
    const out = this.#start(index);
    let text = '';
    const flushText = () => {
      if (text !== '') out.push(delta(index, { content: text }));
      text = '';
    };
    for (const part of candidate.content?.parts ?? []) {
      if (isVisibleText(part)) text += part.text;
      if (!part.functionCall) continue;
      flushText();
      const call = toToolCall(part.functionCall, part.thoughtSignature);
      const callIndex = this.#toolCalls.get(index) ?? 0;
      this.#toolCalls.set(index, callIndex + 1);
      out.push(delta(index, { tool_calls: [{ index: callIndex, ...call }] }));
    }
    flushText();
    if (candidate.finishReason !== undefined) {
      this.#finishedCandidates.add(index);
      out.push(finish(index, toFinishReason(candidate.finishReason, (this.#toolCalls.get(index) ?? 0) > 0)));
    }
    return out;
  }

  /** The role chunk, once per candidate. */
  #start(index: number): ChunkChoice[] {
    if (this.#toolCalls.has(index)) return [];
    this.#toolCalls.set(index, 0);
    return [delta(index, { role: 'assistant', content: '' })];
  }

  #chunk(choices: ChunkChoice[]): ChatCompletionChunk {
    if (!this.#header) throw new Error('unreachable: chunk before the first event');
    return { ...this.#header, choices };
  }
}

function delta(index: number, d: ChunkChoice['delta']): ChunkChoice {
  return { index, delta: d, finish_reason: null };
}

function finish(index: number, reason: FinishReason): ChunkChoice {
  return { index, delta: {}, finish_reason: reason };
}
