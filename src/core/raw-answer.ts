/**
 * Byte pass-through: the JSON text a provider's answer — a whole 2xx answer, or a stream chunk
 * (`providers/sse.ts`) — was parsed from, kept beside the parsed object (weakly) so the writer can send it
 * instead of re-serialising the object; the client gets the upstream's answer byte for byte, for less work
 * (decision 0184). Text rather than the Buffer it was decoded from: Node writes a string body in one piece
 * with the response head, a Buffer as a second piece of a vectored write, which costs more than the
 * serialisation it saves.
 *
 * It holds only while nobody changes the parsed object in place, for answers and stream chunks alike: a
 * stage that changes one builds a new object — guardrails, translations and cache replays do — which has
 * no text here and is serialised.
 *
 * The text is a non-enumerable property under a module symbol, not an entry of a `WeakMap`: JSON, spread
 * and `Object.assign` leave it out, so a copy never carries its original's text. A `WeakMap` keyed by
 * each answer and chunk kept them and their text alive through every scavenge until the next full
 * collection (V8 treats the entries of a long-lived `WeakMap` as live when it collects the young
 * generation): a loop of 64 answers in flight copied 2.2 MB per scavenge with it, 0.3 MB without
 * (decision 0190).
 */

const RAW_TEXT = Symbol('llmgw.rawAnswerText');

/** Remembers the text `value` was parsed from (the whole body, without a byte order mark). */
export function keepRawAnswer(value: object, text: string): void {
  Object.defineProperty(value, RAW_TEXT, { value: text, configurable: true });
}

/** The text `value` was parsed from, if it is that parsed object itself. */
export function rawAnswerText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || !Object.hasOwn(value, RAW_TEXT)) return undefined;
  return (value as { [RAW_TEXT]?: string })[RAW_TEXT];
}
