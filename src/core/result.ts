/**
 * What the pipeline produces (DESIGN §2): a `Result` — a whole JSON answer, or a stream whose `done`
 * settles when it ended (complete, error or client abort) — and its `Outcome`, the one record of who
 * answered and what (deployment, served model, reported usage, finish reason, the answer's text).
 *
 * One outcome, one writer: the call stage (or the cache, on a hit) makes it; a stream fills in usage and
 * finish reason as its chunks pass; everything after only reads it.
 */
import type { ChatCompletion, ChatCompletionChunk, EmbeddingResponse, Usage } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import { asGatewayError, type GatewayError } from './errors.js';
import { partialUsageOf } from './partial-usage.js';

/** Bound on the answer text kept per request (local token counts, body logs); beyond it only counted. */
export const MAX_OUTPUT_TEXT = 1 << 20;

export interface CapturedOutput {
  text: string;
  /** Characters beyond MAX_OUTPUT_TEXT (approximated at 4 per token). */
  overflow: number;
}

export interface Outcome {
  readonly source: 'upstream' | 'cache';
  /** The deployment that served (a cache hit: the one that made the cached answer). */
  readonly deployment: Deployment | null;
  /** The upstream's model name (`gpt-4o-2024-08-06`). */
  servedModel: string | null;
  /** Usage as reported by the upstream (or stored with the cached answer); null = none reported. */
  usage: Usage | null;
  /**
   * Usage the stream reported before its end (Anthropic's `message_start`: the real input counts), for a
   * stream cut off before `usage` arrived; null = none (`partial-usage.ts`).
   */
  partialUsage: Usage | null;
  finishReason: string | null;
  /** The answer's text (content deltas of a stream), bounded. */
  readonly output: CapturedOutput;
  /** clock.now() when the first chunk carrying output was handed to the client (streams). */
  firstTokenAt: number | null;
}

/** A whole answer. */
export interface JsonResult {
  readonly kind: 'json';
  readonly body: ChatCompletion | EmbeddingResponse;
  readonly outcome: Outcome;
}

/** How a stream ended. */
export interface StreamEnd {
  complete: boolean;
  error: GatewayError | null;
}

/**
 * An opened stream: its opening chunks arrived (nothing was sent yet); the rest follows. Whoever writes it
 * must call `end` exactly once when done (it is idempotent): `done` then resolves.
 */
export interface StreamResult {
  readonly kind: 'stream';
  readonly head: ChatCompletionChunk[];
  readonly rest: AsyncIterator<ChatCompletionChunk>;
  readonly outcome: Outcome;
  end(how: { complete: boolean; error?: unknown }): void;
  readonly done: Promise<StreamEnd>;
}

export type Result = JsonResult | StreamResult;

/** An upstream (or cached, or shared) stream before it is wrapped into a `StreamResult`. */
export interface OpenedStream {
  head: ChatCompletionChunk[];
  rest: AsyncIterator<ChatCompletionChunk>;
  /**
   * Call once the stream is done either way (idempotent). `complete: true` after it ended normally, so its
   * connection can be reused; otherwise the upstream call is aborted. `error`: why it did not complete (an
   * upstream failure, a client that left), as the writer saw it.
   */
  close(complete: boolean, error?: unknown): void;
}

/** A fresh outcome. */
export function newOutcome(
  source: Outcome['source'],
  deployment: Deployment | null,
  servedModel: string | null,
): Outcome {
  return {
    source,
    deployment,
    servedModel,
    usage: null,
    partialUsage: null,
    finishReason: null,
    output: { text: '', overflow: 0 },
    firstTokenAt: null,
  };
}

/** Appends answer text to a bounded capture. */
export function capture(output: CapturedOutput, piece: string): void {
  if (output.text.length < MAX_OUTPUT_TEXT) output.text += piece;
  else output.overflow += piece.length;
}

/** The JSON result of a chat completion: outcome from the answer (usage, finish reason, text). */
export function completionResult(
  body: ChatCompletion,
  source: Outcome['source'],
  deployment: Deployment | null,
): JsonResult {
  const outcome = newOutcome(source, deployment, typeof body.model === 'string' ? body.model : null);
  outcome.usage = body.usage ?? null;
  outcome.finishReason = body.choices[0]?.finish_reason ?? null;
  for (const choice of body.choices) {
    const message = choice.message as { content?: unknown; tool_calls?: unknown } | undefined;
    if (typeof message?.content === 'string') capture(outcome.output, message.content);
    else if (message?.tool_calls) capture(outcome.output, JSON.stringify(message.tool_calls));
  }
  return { kind: 'json', body, outcome };
}

/** The JSON result of an embeddings answer (usage has no completion tokens). */
export function embeddingResult(body: EmbeddingResponse, deployment: Deployment | null): JsonResult {
  const outcome = newOutcome('upstream', deployment, typeof body.model === 'string' ? body.model : null);
  const usage = body.usage;
  outcome.usage = usage
    ? { prompt_tokens: usage.prompt_tokens, completion_tokens: 0, total_tokens: usage.total_tokens }
    : null;
  return { kind: 'json', body, outcome };
}

/**
 * Wraps an opened stream into a `StreamResult`: every chunk that passes updates the outcome (usage, finish
 * reason, text, time to first token); `end` closes the source once and resolves `done`.
 */
export function streamResult(
  opened: OpenedStream,
  source: Outcome['source'],
  deployment: Deployment | null,
  now: () => number,
): StreamResult {
  const first = opened.head[0]?.model;
  const outcome = newOutcome(source, deployment, typeof first === 'string' ? first : null);
  // Output in the opening chunks counts as first token once the writer sent them (it asks for more).
  let headOutput = false;
  const observe = (chunk: ChatCompletionChunk, inHead: boolean): void => {
    if (chunk.usage) outcome.usage = chunk.usage;
    const choices = chunk.choices;
    for (let i = 0; i < choices.length; i++) {
      const choice = choices[i] as ChatCompletionChunk.Choice;
      if (choice.finish_reason) outcome.finishReason = choice.finish_reason;
      const delta = choice.delta as
        | { content?: string | null; tool_calls?: unknown[]; refusal?: string | null }
        | undefined;
      if (!delta) continue;
      if (delta.content) capture(outcome.output, delta.content);
      if (delta.content || delta.refusal || (delta.tool_calls && delta.tool_calls.length > 0)) {
        if (inHead) headOutput = true;
        else if (outcome.firstTokenAt === null) outcome.firstTokenAt = now();
      }
    }
  };
  for (const chunk of opened.head) {
    observe(chunk, true);
    // Reported with the stream's opening event (so in the head), never later: the loop over the rest
    // does not look for it.
    const partial = partialUsageOf(chunk);
    if (partial) outcome.partialUsage = partial;
  }
  const onNext = (next: IteratorResult<ChatCompletionChunk>): IteratorResult<ChatCompletionChunk> => {
    if (!next.done) observe(next.value, false);
    return next;
  };
  let settle: (how: StreamEnd) => void = () => undefined;
  const done = new Promise<StreamEnd>((resolve) => {
    settle = resolve;
  });
  let ended = false;
  const source_ = opened.rest;
  return {
    kind: 'stream',
    head: opened.head,
    outcome,
    rest: {
      next() {
        if (headOutput && outcome.firstTokenAt === null) outcome.firstTokenAt = now();
        // No `async`: the source's promise is passed on with one reaction, not wrapped in another promise.
        return source_.next().then(onNext);
      },
    },
    end(how) {
      if (ended) return;
      ended = true;
      opened.close(how.complete, how.error);
      if (!how.complete) void source_.return?.()?.catch?.(() => undefined);
      settle({ complete: how.complete, error: how.error ? asGatewayError(how.error) : null });
    },
    done,
  };
}
