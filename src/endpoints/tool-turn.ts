/**
 * Tool results in chat terms, shared by the translations of the Messages API (`tool_result` blocks) and the
 * Responses API (`function_call_output` items). A chat `tool` message holds text only, and every tool
 * message must directly follow the assistant turn that made the calls; so a result's images and files
 * follow the turn's tool messages as one user message, which every chat provider takes (OpenAI and
 * compatible servers as image/file parts, Anthropic in the same user turn as the `tool_result` blocks,
 * Gemini after the `functionResponse` parts).
 */
import type { ChatCompletionContentPart } from 'openai/resources/chat/completions';
import type { ChatCompletionMessageParam } from '../providers/types.js';

/** A tool's result: the text of its `tool` message. */
export interface ToolMessage {
  callId: string;
  text: string;
}

/**
 * The messages of one turn of tool results: a `tool` message per result, then `parts` (the results' media,
 * and anything else the turn holds) as one user message; none when `parts` is empty.
 *
 * @example
 * toolTurn([{ callId: 'call_1', text: 'screenshot taken' }], [{ type: 'image_url', image_url: { url } }])
 * // → [{ role: 'tool', tool_call_id: 'call_1', content: 'screenshot taken' },
 * //    { role: 'user', content: [{ type: 'image_url', image_url: { url } }] }]
 */
export function toolTurn(
  tools: readonly ToolMessage[],
  parts: readonly ChatCompletionContentPart[],
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = tools.map((t) => ({
    role: 'tool',
    tool_call_id: t.callId,
    content: t.text,
  }));
  if (parts.length === 0) return messages;
  const onlyText = parts.every((p) => p.type === 'text');
  const content = onlyText ? parts.map((p) => (p as { text: string }).text).join('\n\n') : [...parts];
  messages.push({ role: 'user', content });
  return messages;
}
