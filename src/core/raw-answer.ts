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
 */

const RAW_TEXT = new WeakMap<object, string>();

/** Remembers the text `value` was parsed from (the whole body, without a byte order mark). */
export function keepRawAnswer(value: object, text: string): void {
  RAW_TEXT.set(value, text);
}

/** The text `value` was parsed from, if it is that parsed object itself. */
export function rawAnswerText(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? RAW_TEXT.get(value) : undefined;
}
