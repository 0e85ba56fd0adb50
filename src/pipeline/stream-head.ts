/**
 * The opening of an upstream stream (DESIGN §5): chunks are held back until the first one that carries
 * something, so a stream that fails before it is still retriable — nothing has reached the client.
 */
import { streamCutOff } from '../providers/sse.js';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { AttemptProgress } from './billable.js';

/** Chunks held back at most before the stream is committed to the client. */
const MAX_HEAD_CHUNKS = 16;

/**
 * Reads a stream's opening chunks up to the first one that carries something (text, a tool call, a finish
 * reason or usage). Providers open with an empty role chunk (`message_start` for Anthropic) and may still
 * fail right after it (Anthropic's `overloaded_error` event); holding the empty chunks back keeps such
 * failures retriable, because nothing has reached the client yet.
 */
export async function readHead(
  provider: string,
  rest: AsyncIterator<ChatCompletionChunk>,
  progress: AttemptProgress,
): Promise<ChatCompletionChunk[]> {
  const head: ChatCompletionChunk[] = [];
  while (head.length < MAX_HEAD_CHUNKS) {
    const next = await rest.next();
    if (next.done) {
      if (head.length === 0) throw streamCutOff(provider);
      break;
    }
    head.push(next.value);
    progress.streamed += contentOf(next.value);
    if (isSubstantive(next.value)) break;
  }
  return head;
}

function isSubstantive(chunk: ChatCompletionChunk): boolean {
  if (chunk.choices.length === 0) return chunk.usage !== undefined && chunk.usage !== null;
  return chunk.choices.some((c) => {
    const delta = c.delta as
      | { content?: string | null; tool_calls?: unknown[]; refusal?: string | null }
      | undefined;
    return Boolean(
      c.finish_reason ||
        delta?.content ||
        delta?.refusal ||
        (delta?.tool_calls && delta.tool_calls.length > 0),
    );
  });
}

/** The content text of a chunk's choices. */
function contentOf(chunk: ChatCompletionChunk): string {
  let text = '';
  for (const c of chunk.choices) {
    const content = (c.delta as { content?: string | null } | undefined)?.content;
    if (content) text += content;
  }
  return text;
}
