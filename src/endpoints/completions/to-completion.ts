/**
 * Canonical chat answers written as OpenAI legacy Completions (`text_completion` objects), whole or
 * streamed. Each choice's text is the assistant message's content; the finish reasons the Completions
 * API does not have (`tool_calls`, `function_call`: impossible without tools) become `stop`; chat
 * log probabilities become the legacy arrays (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`,
 * offsets counted from the start of the generated text).
 */
import type { StreamEncoder } from '../../core/endpoint.js';
import type { ChatCompletion, ChatCompletionChunk } from '../../providers/types.js';

type Choice = {
  text: string;
  index: number;
  logprobs: LegacyLogprobs | null;
  finish_reason: 'stop' | 'length' | 'content_filter' | null;
};
interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}
type ChatLogprobs = ChatCompletion.Choice['logprobs'];
type ChatFinish = ChatCompletion.Choice['finish_reason'] | null | undefined;

/** `cmpl-…` from the chat answer's id (`chatcmpl-…` or a provider's own). */
export function completionId(id: string): string {
  return id.startsWith('cmpl-') ? id : `cmpl-${id.replace(/^chatcmpl-/, '')}`;
}

function finishReason(reason: ChatFinish): Choice['finish_reason'] {
  if (reason === null || reason === undefined) return null;
  return reason === 'length' || reason === 'content_filter' ? reason : 'stop';
}

/** Chat log probabilities → the legacy arrays; `offset` is where the first token starts in the text. */
function legacyLogprobs(logprobs: ChatLogprobs | undefined, offset = 0): LegacyLogprobs | null {
  const content = logprobs?.content;
  if (!content) return null;
  const out: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let at = offset;
  for (const t of content) {
    out.tokens.push(t.token);
    out.token_logprobs.push(t.logprob);
    const top: Record<string, number> = {};
    for (const alt of t.top_logprobs ?? []) top[alt.token] = alt.logprob;
    out.top_logprobs.push(top);
    out.text_offset.push(at);
    at += t.token.length;
  }
  return out;
}

/** A whole chat completion as a `text_completion`. */
export function toCompletion(chat: ChatCompletion): object {
  return {
    id: completionId(chat.id),
    object: 'text_completion',
    created: chat.created,
    model: chat.model,
    ...(chat.system_fingerprint ? { system_fingerprint: chat.system_fingerprint } : {}),
    choices: chat.choices.map(
      (c): Choice => ({
        text: c.message.content ?? c.message.refusal ?? '',
        index: c.index,
        logprobs: legacyLogprobs(c.logprobs),
        finish_reason: finishReason(c.finish_reason) ?? 'stop',
      }),
    ),
    ...(chat.usage ? { usage: chat.usage } : {}),
  };
}

/**
 * One streamed answer's encoder: each chunk with text or a finish reason becomes a `text_completion`
 * event (the role-only opening chunk sends nothing); the usage chunk goes out only when the client asked
 * for it (`stream_options.include_usage`), as `choices: []` with `usage`, as OpenAI sends it.
 */
export function completionStreamEncoder(includeUsage: boolean): StreamEncoder {
  // Where the next token starts in each choice's text (legacy `text_offset`).
  const offsets = new Map<number, number>();
  return {
    chunk(chunk: ChatCompletionChunk) {
      const head = {
        id: completionId(chunk.id),
        object: 'text_completion',
        created: chunk.created,
        model: chunk.model,
      };
      const choices: Choice[] = [];
      for (const c of chunk.choices) {
        const text = c.delta?.content ?? c.delta?.refusal ?? '';
        const finish = finishReason(c.finish_reason);
        const at = offsets.get(c.index) ?? 0;
        const logprobs = legacyLogprobs(c.logprobs, at);
        if (text === '' && finish === null && logprobs === null) continue;
        offsets.set(c.index, at + text.length);
        choices.push({ text, index: c.index, logprobs, finish_reason: finish });
      }
      let out = choices.length > 0 ? `data: ${JSON.stringify({ ...head, choices })}\n\n` : '';
      if (includeUsage && chunk.usage) {
        out += `data: ${JSON.stringify({ ...head, choices: [], usage: chunk.usage })}\n\n`;
      }
      return out === '' ? null : out;
    },
    end: () => 'data: [DONE]\n\n',
    error: (body) => `data: ${JSON.stringify(body)}\n\n`,
  };
}
