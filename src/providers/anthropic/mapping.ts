/**
 * Stop reasons and token usage, shared by the JSON and the stream translations.
 */
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { Usage } from '../types.js';

export type FinishReason = ChatCompletion.Choice['finish_reason'];

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. `tool_use` becomes `stop` when no client tool was called
 * (the only tool use was the `json_schema` answer tool).
 */
export function toFinishReason(
  stopReason: string | null | undefined,
  clientToolCalls: boolean,
): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return clientToolCalls ? 'tool_calls' : 'stop';
    case 'refusal':
      return 'content_filter';
    default:
      // end_turn, stop_sequence, pause_turn and anything newer.
      return 'stop';
  }
}

/** Anthropic token counts; the cache fields are null or absent when caching was not involved. */
export interface AnthropicTokens {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/**
 * Anthropic usage → OpenAI usage. Anthropic's `input_tokens` excludes cached input, OpenAI's `prompt_tokens`
 * includes it, so cache writes and reads are added back. Cache reads are OpenAI's
 * `prompt_tokens_details.cached_tokens`; cache writes (which Anthropic bills above the input price) have no
 * OpenAI field and go in `prompt_tokens_details.cache_creation_tokens`, set only when there were some.
 */
export function toUsage(tokens: AnthropicTokens): Usage {
  const cacheRead = tokens.cache_read_input_tokens ?? 0;
  const cacheWrite = tokens.cache_creation_input_tokens ?? 0;
  const prompt = (tokens.input_tokens ?? 0) + cacheWrite + cacheRead;
  const completion = tokens.output_tokens ?? 0;
  const details: { cached_tokens: number; cache_creation_tokens?: number } = { cached_tokens: cacheRead };
  if (cacheWrite > 0) details.cache_creation_tokens = cacheWrite;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: details,
  };
}
