/**
 * Anthropic `Message` → OpenAI `chat.completion`.
 */
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletionMessageFunctionToolCall } from 'openai/resources/chat/completions';
import type { ChatCompletion } from '../types.js';
import { toFinishReason, toUsage } from './mapping.js';

/** How a response or stream is translated back. */
export interface TranslateOptions {
  /** The `json_schema` answer tool (see `jsonSchemaToolName`): its input becomes the message content. */
  jsonTool?: string | undefined;
  /** Unix seconds for `created` (the adapter's clock when the answer arrived). */
  created: number;
}

/** Translates a Messages API response. Thinking and server-tool blocks are dropped. */
export function toChatCompletion(msg: Message, options: TranslateOptions): ChatCompletion {
  const texts: string[] = [];
  const toolCalls: ChatCompletionMessageFunctionToolCall[] = [];
  for (const block of msg.content) {
    if (block.type === 'text') texts.push(block.text);
    else if (block.type === 'tool_use' && block.name === options.jsonTool)
      texts.push(JSON.stringify(block.input));
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id,
        type: 'function',
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const message: ChatCompletion.Choice['message'] = {
    role: 'assistant',
    content: texts.length === 0 && toolCalls.length > 0 ? null : texts.join(''),
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: msg.id,
    object: 'chat.completion',
    created: options.created,
    model: msg.model,
    choices: [
      {
        index: 0,
        message,
        finish_reason: toFinishReason(msg.stop_reason, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    usage: toUsage(msg.usage ?? {}),
  };
}
