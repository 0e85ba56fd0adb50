/**
 * The output side: a whole chat answer (each choice's content and refusal), or a stream wrapped so every
 * content delta goes through a `StreamWindow` per choice. The wrapped stream keeps the inner result's
 * outcome, `end` and `done`; chunks whose content is unchanged are passed on as the same objects (so an
 * OpenAI-compatible upstream's bytes still pass through), the others are shallow copies.
 */
import { type CapturedOutput, capture, type JsonResult, type StreamResult } from '../core/result.js';
import type { ChatCompletion, ChatCompletionChunk } from '../providers/types.js';
import type { GuardSession } from './session.js';
import { StreamWindow } from './window.js';

type Choice = ChatCompletionChunk.Choice;

/** A chat completion with its answer texts checked; embeddings answers are returned as they are. */
export function guardAnswer(result: JsonResult, session: GuardSession): JsonResult {
  const body = result.body as ChatCompletion;
  if (!session.outputScanner || !Array.isArray(body.choices)) return result;
  const sent: CapturedOutput = { text: '', overflow: 0 };
  let changed = false;
  const choices = body.choices.map((choice) => {
    const message = choice.message as { content?: unknown; refusal?: unknown } | undefined;
    if (!message) return choice;
    const next: Record<string, unknown> = { ...message };
    let changedHere = false;
    for (const field of ['content', 'refusal'] as const) {
      const text = message[field];
      if (typeof text !== 'string') continue;
      const checked = session.output(text);
      if (field === 'content') capture(sent, session.unrestored(checked));
      if (checked !== text) {
        next[field] = checked;
        changedHere = true;
        changed = true;
      }
    }
    return changedHere ? { ...choice, message: next as unknown as typeof choice.message } : choice;
  });
  if (!changed) return result;
  scrubCapture(result.outcome.output, sent);
  return { kind: 'json', body: { ...body, choices }, outcome: result.outcome };
}

/**
 * The outcome's captured text (body logs, local token counts) becomes what the client received, so a
 * value removed from the answer is not kept there either (restored values are captured as placeholders).
 */
function scrubCapture(output: CapturedOutput, sent: CapturedOutput): void {
  output.text = sent.text;
  output.overflow = sent.overflow;
}

/** Wraps a stream so its content is checked on a sliding window. @throws ContentPolicyError (head) */
export function guardStream(inner: StreamResult, session: GuardSession): StreamResult {
  const scanner = session.outputScanner;
  if (!scanner) return inner;
  const windows = new Map<number, StreamWindow>();
  // Refusals (`delta.refusal`) are checked like content, on windows of their own.
  const refusals = new Map<number, StreamWindow>();
  const sent: CapturedOutput = { text: '', overflow: 0 };
  let template: ChatCompletionChunk | null = null;

  const windowOf = (index: number, of = windows) => {
    let w = of.get(index);
    if (!w) {
      w = new StreamWindow(session, scanner);
      of.set(index, w);
    }
    return w;
  };

  /** The chunk to send for an upstream chunk, or null when nothing of it may go out yet. */
  const filter = (chunk: ChatCompletionChunk): ChatCompletionChunk | null => {
    template ??= chunk;
    let changed = false;
    let empty = chunk.usage == null;
    const choices = chunk.choices.map((choice: Choice) => {
      const delta = choice.delta as Choice['delta'] | undefined;
      const content = typeof delta?.content === 'string' ? delta.content : null;
      const window = windowOf(choice.index);
      let out = content === null ? null : window.push(content);
      if (choice.finish_reason) out = (out ?? '') + window.flush();
      if (out !== null) capture(sent, session.unrestored(out));
      const refusal = typeof delta?.refusal === 'string' ? delta.refusal : null;
      let refused = refusal === null ? null : windowOf(choice.index, refusals).push(refusal);
      if (choice.finish_reason && refusals.has(choice.index)) {
        refused = (refused ?? '') + windowOf(choice.index, refusals).flush();
      }
      const hasOther =
        choice.finish_reason != null || delta?.role !== undefined || (delta?.tool_calls?.length ?? 0) > 0;
      if (hasOther || (out !== null && out.length > 0) || (refused !== null && refused.length > 0))
        empty = false;
      const sameContent = out === content || (content === null && out === '');
      if (sameContent && refused === refusal) return choice;
      changed = true;
      const next: Record<string, unknown> = { ...delta };
      if (!sameContent) next.content = out ?? '';
      if (refused !== refusal) next.refusal = refused;
      return { ...choice, delta: next as Choice['delta'] };
    });
    if (!changed) return chunk;
    if (empty && chunk.choices.length > 0) return null;
    return { ...chunk, choices };
  };

  /** What is still held when the upstream ended without a finish reason for some choice. */
  const drain = (): ChatCompletionChunk | null => {
    const choices: Choice[] = [];
    for (const [index, window] of windows) {
      const text = window.flush();
      if (text.length === 0) continue;
      capture(sent, session.unrestored(text));
      choices.push({ index, delta: { content: text }, finish_reason: null } as Choice);
    }
    for (const [index, window] of refusals) {
      const text = window.flush();
      if (text.length > 0) choices.push({ index, delta: { refusal: text }, finish_reason: null } as Choice);
    }
    if (choices.length === 0 || !template) return null;
    return { ...template, choices, usage: undefined } as ChatCompletionChunk;
  };

  let head: ChatCompletionChunk[];
  try {
    head = [];
    for (const chunk of inner.head) {
      const out = filter(chunk);
      if (out) head.push(out);
    }
  } catch (err) {
    inner.end({ complete: false, error: err });
    throw err;
  }
  let drained = false;
  return {
    kind: 'stream',
    head,
    outcome: inner.outcome,
    rest: {
      async next() {
        for (;;) {
          const next = await inner.rest.next();
          if (next.done) {
            if (!drained) {
              drained = true;
              const last = drain();
              if (last) return { done: false, value: last };
            }
            return next;
          }
          const out = filter(next.value);
          if (out) return { done: false, value: out };
        }
      },
    },
    end(how) {
      scrubCapture(inner.outcome.output, sent);
      inner.end(how);
    },
    done: inner.done,
  };
}
