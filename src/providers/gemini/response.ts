/**
 * Gemini `GenerateContentResponse` → OpenAI `chat.completion`, plus the pieces the stream translation
 * shares: finish reasons, usage, tool calls and ids.
 */
import { randomUUID } from 'node:crypto';
import type { Candidate, FunctionCall, GenerateContentResponse, Part } from '@google/genai';
import type {
  ChatCompletion,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import type { Usage } from '../types.js';
import { newToolCallId } from './tool-call-id.js';

/** The data members of a response (the SDK class also declares getters that JSON never has). */
export type GeminiResponse = Pick<
  GenerateContentResponse,
  'candidates' | 'promptFeedback' | 'usageMetadata' | 'modelVersion' | 'responseId'
>;

/** Gemini's token accounting for one answer. */
export type UsageMetadata = NonNullable<GeminiResponse['usageMetadata']>;
/** OpenAI's `finish_reason` values. */
export type FinishReason = ChatCompletion.Choice['finish_reason'];

const CONTENT_FILTER_REASONS = new Set([
  'SAFETY',
  'RECITATION',
  'BLOCKLIST',
  'PROHIBITED_CONTENT',
  'SPII',
  'IMAGE_SAFETY',
  'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

/** Shape check for one response or stream event: an object whose `candidates`, when set, is an array of objects. */
export function isGeminiResponse(value: unknown): value is GeminiResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const candidates = (value as { candidates?: unknown }).candidates;
  if (candidates === undefined) return true;
  return Array.isArray(candidates) && candidates.every((c) => typeof c === 'object' && c !== null);
}

/**
 * Translates a complete (non-streamed) answer. `requestedModel` is used when Gemini names no version;
 * `created` is OpenAI's `created` (Unix seconds, the adapter's clock when the answer arrived).
 */
export function toChatCompletion(
  res: GeminiResponse,
  requestedModel: string,
  created: number,
): ChatCompletion {
  const candidates = res.candidates ?? [];
  const choices: ChatCompletion.Choice[] = candidates.map(toChoice);
  if (candidates.length === 0 && res.promptFeedback?.blockReason !== undefined) {
    choices.push({
      index: 0,
      message: { role: 'assistant', content: null, refusal: null },
      finish_reason: 'content_filter',
      logprobs: null,
    });
  }
  const completion: ChatCompletion = {
    id: res.responseId ?? newCompletionId(),
    object: 'chat.completion',
    created,
    model: res.modelVersion ?? requestedModel,
    choices,
  };
  if (res.usageMetadata) completion.usage = toUsage(res.usageMetadata);
  return completion;
}

function toChoice(candidate: Candidate, i: number): ChatCompletion.Choice {
  const parts = candidate.content?.parts ?? [];
  const texts = parts.filter(isVisibleText).map((p) => p.text);
  const toolCalls = parts.flatMap((p) =>
    p.functionCall ? [toToolCall(p.functionCall, p.thoughtSignature)] : [],
  );
  const message: ChatCompletion.Choice['message'] = {
    role: 'assistant',
    content: texts.length > 0 ? texts.join('') : null,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    index: candidate.index ?? i,
    message,
    finish_reason: toFinishReason(candidate.finishReason, toolCalls.length > 0),
    logprobs: null,
  };
}

/** A text part the client should see: thought summaries (`thought: true`) are not part of the answer. */
export function isVisibleText(part: Part): part is Part & { text: string } {
  return typeof part.text === 'string' && part.thought !== true;
}

/**
 * An OpenAI tool call with a fresh id (the Gemini API does not give calls ids), carrying the part's
 * `thoughtSignature` so the request translation can send it back (see `tool-call-id.ts`).
 */
export function toToolCall(
  call: FunctionCall,
  thoughtSignature?: unknown,
): ChatCompletionMessageFunctionToolCall {
  return {
    id: newToolCallId(thoughtSignature),
    type: 'function',
    function: { name: call.name ?? '', arguments: JSON.stringify(call.args ?? {}) },
  };
}

/** Maps Gemini's finish reason. `hasToolCalls`: the candidate called functions, so STOP means "tool_calls". */
export function toFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason {
  if (reason === undefined || reason === 'STOP') return hasToolCalls ? 'tool_calls' : 'stop';
  // CONTINUATION: the per-request token limit cut the answer, which could be continued.
  if (reason === 'MAX_TOKENS' || reason === 'CONTINUATION') return 'length';
  if (CONTENT_FILTER_REASONS.has(reason)) return 'content_filter';
  return 'stop';
}

/**
 * Gemini usage → OpenAI usage. Thinking tokens are billed as output, so they count as completion tokens;
 * tool-use prompt tokens (results of Gemini's own tools, fed back as input) count as prompt tokens, so that
 * prompt + completion equals Gemini's total (prompt + candidates + tool-use prompt + thoughts).
 */
export function toUsage(meta: UsageMetadata): Usage {
  const prompt = (meta.promptTokenCount ?? 0) + (meta.toolUsePromptTokenCount ?? 0);
  const completion = (meta.candidatesTokenCount ?? 0) + (meta.thoughtsTokenCount ?? 0);
  const usage: Usage = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: meta.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: meta.cachedContentTokenCount ?? 0 },
  };
  if (meta.thoughtsTokenCount !== undefined) {
    usage.completion_tokens_details = { reasoning_tokens: meta.thoughtsTokenCount };
  }
  return usage;
}

/** An OpenAI-style completion id for answers Gemini sent without `responseId`. */
export function newCompletionId(): string {
  return `chatcmpl-${randomUUID().replaceAll('-', '')}`;
}
