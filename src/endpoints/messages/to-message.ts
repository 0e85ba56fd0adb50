/**
 * The canonical (OpenAI chat) answer → an Anthropic `Message`: text and tool_use content blocks, the stop
 * reason and usage (a `refusal` is a text block with stop_reason `refusal`). An answer that came from an Anthropic deployment natively is written as Anthropic sent
 * it instead (see providers/anthropic/native.ts); this translation serves every other provider and cache hits.
 */
import type {
  Usage as AnthropicUsage,
  Message,
  StopReason,
  ToolUseBlock,
} from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletion, Usage } from '../../providers/types.js';

/** OpenAI `finish_reason` → Anthropic `stop_reason`. */
export function toStopReason(finish: string | null | undefined): StopReason {
  switch (finish) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      // `stop`: OpenAI-style providers do not say whether a stop sequence ended the answer.
      return 'end_turn';
  }
}

/** Anthropic usage from OpenAI usage: `input_tokens` excludes cache reads and writes. */
export function toAnthropicUsage(usage: Usage | null | undefined): AnthropicUsage {
  const details = usage?.prompt_tokens_details as
    | { cached_tokens?: number | null; cache_creation_tokens?: number | null }
    | null
    | undefined;
  const read = details?.cached_tokens ?? 0;
  const written = details?.cache_creation_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - read - written),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_creation_input_tokens: written,
    cache_read_input_tokens: read,
    cache_creation: null,
    server_tool_use: null,
    service_tier: null,
  };
}

/** An Anthropic message id for a translated answer (`msg_` and the upstream's id). */
export function messageId(id: string | undefined): string {
  if (!id) return 'msg_gateway';
  return id.startsWith('msg_') ? id : `msg_${id.replace(/^chatcmpl-/, '')}`;
}

/** Tool arguments as the object Anthropic's `input` is; text that is not a JSON object is kept under `_raw`. */
export function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(args);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : { _raw: args };
  } catch {
    return { _raw: args };
  }
}

/** Translates a chat completion (its first choice: a Messages request asks for one). */
export function toMessage(completion: ChatCompletion): Message {
  const choice = completion.choices[0];
  const message = choice?.message;
  const content: Message['content'] = [];
  if (typeof message?.content === 'string' && message.content !== '') {
    content.push({ type: 'text', text: message.content, citations: null });
  }
  // OpenAI's `refusal` (the model declined): Anthropic's answer is its text with stop_reason `refusal`.
  const refusal = typeof message?.refusal === 'string' && message.refusal !== '' ? message.refusal : null;
  if (refusal !== null) content.push({ type: 'text', text: refusal, citations: null });
  for (const call of message?.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    const block: ToolUseBlock = {
      type: 'tool_use',
      id: call.id,
      name: call.function.name,
      input: toolInput(call.function.arguments),
    };
    content.push(block);
  }
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    model: completion.model,
    content,
    stop_reason: refusal !== null ? 'refusal' : toStopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: toAnthropicUsage(completion.usage),
  };
}
