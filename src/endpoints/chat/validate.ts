/**
 * Checks the schema cannot express: cross-field rules of Chat Completions. Each failure is a 422 naming
 * the field, so nothing malformed reaches a provider.
 */
import { ValidationError } from '../../core/errors.js';
import type { ChatRequest } from '../../providers/types.js';

/** @throws ValidationError */
export function validateChatRequest(req: ChatRequest): void {
  req.messages.forEach((m, i) => {
    if (m.role === 'assistant') {
      const hasContent = m.content !== undefined && m.content !== null;
      const hasCalls = Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
      // `audio: { id }` refers to an earlier audio answer (OpenAI's multi-turn audio): it stands for content.
      const hasAudio = typeof m.audio === 'object' && m.audio !== null;
      if (!hasContent && !hasCalls && !hasAudio && !m.refusal && !m.function_call) {
        throw new ValidationError(
          `messages[${i}].content is required unless tool_calls, function_call or audio is set.`,
          `messages[${i}].content`,
        );
      }
    }
  });
  const choice = req.tool_choice;
  const tools = req.tools ?? [];
  if (
    choice !== undefined &&
    choice !== null &&
    choice !== 'none' &&
    choice !== 'auto' &&
    tools.length === 0
  ) {
    throw new ValidationError('tool_choice requires tools.', 'tool_choice');
  }
  if (typeof choice === 'object' && choice !== null && choice.type === 'function') {
    const wanted = choice.function.name;
    if (!tools.some((t) => t.type === 'function' && t.function.name === wanted)) {
      throw new ValidationError(
        `tool_choice names the function "${wanted}", which is not in tools.`,
        'tool_choice.function.name',
      );
    }
  }
  if (typeof choice === 'object' && choice !== null && choice.type === 'custom') {
    const wanted = choice.custom.name;
    if (!tools.some((t) => t.type === 'custom' && t.custom.name === wanted)) {
      throw new ValidationError(
        `tool_choice names the custom tool "${wanted}", which is not in tools.`,
        'tool_choice.custom.name',
      );
    }
  }
  if (req.top_logprobs !== undefined && req.top_logprobs !== null && req.logprobs !== true) {
    throw new ValidationError('top_logprobs requires logprobs: true.', 'top_logprobs');
  }
}
