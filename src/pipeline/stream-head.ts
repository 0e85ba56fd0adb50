/**
 * The opening of an upstream stream (DESIGN §5): chunks are held back until the first one that carries
 * something, so a stream that fails before it is still retriable — nothing has reached the client. The
 * attempt that opened it ends with the stream (`endStreamAttempt`, decision 0222).
 */
import { ClientClosedError, ProviderError } from '../core/errors.js';
import { streamCutOff } from '../providers/sse.js';
import type { CallOptions, ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import type { CircuitBreaker } from '../routing/breaker.js';
import { isDeploymentFault } from '../routing/fault.js';
import type { Deployment } from '../routing/resolver.js';
import type { AttemptProbe } from '../telemetry/provider-attempt.js';
import type { AttemptProgress } from './billable.js';

/**
 * A stream opened by an attempt: its opening chunks (up to the first substantive one) and the rest, with
 * what waits for its end — the attempt's probe and the deployment's breaker (set by the call stage).
 */
export interface Opened {
  head: ChatCompletionChunk[];
  rest: AsyncIterator<ChatCompletionChunk>;
  probe: AttemptProbe | undefined;
  breaker: CircuitBreaker | undefined;
}

/** Opens a stream and reads its head; the attempt is accepted (billable as such) once the stream opened. */
export async function openHead(
  d: Deployment,
  body: ChatRequest,
  call: CallOptions,
  progress: AttemptProgress,
): Promise<Opened> {
  const rest = (await d.adapter.chatStream(body, call))[Symbol.asyncIterator]();
  progress.accepted = true;
  return { head: await readHead(d.provider, rest, progress), rest, probe: undefined, breaker: undefined };
}

/**
 * The end of a stream's attempt: the probe counts an upstream failure — a cut, an error event, the idle
 * timeout — in `llm_provider_errors_total` and on the `provider.api_call` span, and the breaker gets the
 * pass's verdict. A client that left is no provider error (the probe skips `client_closed`) and no
 * failure (released); the gateway's own refusal mid-stream (an output guardrail) is no provider error
 * either. `signal`: the request's, which tells the idle timeout from a client that left.
 */
export function endStreamAttempt(
  opened: Opened,
  complete: boolean,
  error: unknown,
  signal: AbortSignal,
): void {
  const failure =
    !complete && (error instanceof ProviderError || error instanceof ClientClosedError) ? error : null;
  opened.probe?.end(failure);
  const breaker = opened.breaker;
  if (!breaker) return;
  if (complete) breaker.success();
  else if (isDeploymentFault(error, signal)) breaker.failure();
  else breaker.release();
}

/** A stream that opened after its attempt was given up: closed, its connection cut. */
export function closeLate(late: unknown): void {
  void (late as Opened).rest.return?.();
}

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
