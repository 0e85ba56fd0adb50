/**
 * Byte pass-through for whole answers: the JSON bytes a provider's 2xx answer was parsed from, kept beside
 * the parsed object (weakly) so the writer can send them instead of re-serialising it — the client gets
 * the upstream's answer byte for byte, for less work (decision 0184).
 *
 * It holds only while nobody changes the parsed object in place: the gateway's rule for answers and stream
 * chunks alike (`providers/sse.ts` keeps a stream chunk's text the same way). A stage that changes an
 * answer builds a new object — guardrails, translations and cache replays do — which has no bytes here and
 * is serialised.
 */

const RAW_BYTES = new WeakMap<object, Buffer>();

/** Remembers the bytes `value` was parsed from (the whole body, without a byte order mark). */
export function keepRawAnswer(value: object, bytes: Buffer): void {
  RAW_BYTES.set(value, bytes);
}

/** The bytes `value` was parsed from, if it is that parsed object itself. */
export function rawAnswerBytes(value: unknown): Buffer | undefined {
  return typeof value === 'object' && value !== null ? RAW_BYTES.get(value) : undefined;
}
