/**
 * Usage an upstream stream reported before its end: Anthropic's `message_start` carries the real input
 * counts (cache reads and writes included) long before the final usage. The translator marks the chunk it
 * made from that event; the outcome keeps it, and the cost step bills a stream cut off before its final
 * usage on these counts instead of an estimate of the prompt (decision 0207).
 *
 * Held like the raw answer text (`raw-answer.ts`): a non-enumerable property under a module symbol, so
 * the chunk serialises as before and a copy does not carry it.
 */
import type { Usage } from '../providers/types.js';

const PARTIAL_USAGE = Symbol('llmgw.partialUsage');

/** Marks `chunk` with the usage its upstream reported so far. */
export function keepPartialUsage(chunk: object, usage: Usage): void {
  Object.defineProperty(chunk, PARTIAL_USAGE, { value: usage, configurable: true });
}

/** The usage reported so far that `chunk` carries, if any. */
export function partialUsageOf(chunk: object): Usage | undefined {
  return Object.hasOwn(chunk, PARTIAL_USAGE)
    ? (chunk as { [PARTIAL_USAGE]?: Usage })[PARTIAL_USAGE]
    : undefined;
}
