/**
 * Reading server-sent events from an upstream body, with failures typed.
 */

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../core/errors.js';
import { keepRawAnswer, rawAnswerText } from '../core/raw-answer.js';
import { networkError } from './http.js';

export type { EventSourceMessage };

/** How long the rest of a finished stream's body may take to arrive before the connection is dropped. */
const DRAIN_MS = 1000;

/**
 * Yields the SSE events of an upstream response body. A socket error or abort while reading becomes a
 * typed error (the abort's own reason when it is one).
 */
export async function* readSse(
  provider: string,
  body: Dispatcher.ResponseData['body'],
  signal: AbortSignal,
): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const decoder = new TextDecoder();
  try {
    // Not destroyed when the consumer stops early: see `finally`.
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      for (let i = 0; i < pending.length; i++) yield pending[i] as EventSourceMessage;
      pending.length = 0;
    }
    parser.feed(`${decoder.decode()}\n\n`);
    for (const event of pending) yield event;
  } catch (err) {
    throw networkError(provider, err, signal);
  } finally {
    // The consumer stopped at the provider's end marker ([DONE], message_stop) or on an error. What is left
    // of the body is usually a few bytes: read it (bounded in time) so the keep-alive connection goes back
    // to the pool instead of being torn down. An aborted request's body is already destroyed.
    if (!body.destroyed) {
      if (typeof body.dump === 'function') {
        // A plain timer, cleared when the body closes (at once, usually): `AbortSignal.timeout` would fire
        // for every stream a second later and build a DOMException each time (measured: ≈ 5 % of a
        // streaming gateway's CPU).
        const timer = setTimeout(() => body.destroy(), DRAIN_MS);
        const done = () => clearTimeout(timer);
        body.dump({ limit: Number.MAX_SAFE_INTEGER }).then(done, done);
      } else {
        body.destroy(); // a plain stream (recorded fixtures) has no connection to return
      }
    }
  }
}

/** Parses one event's JSON data; malformed data is a provider failure. */
export function parseEventJson<T>(provider: string, data: string): T {
  try {
    return JSON.parse(data) as T;
  } catch {
    throw new ProviderUnavailableError(`${provider} sent a malformed stream event (not JSON).`, provider);
  }
}

/** Raised when the upstream stream ends without its completion marker. */
export function streamCutOff(provider: string): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${provider} closed the stream before the answer was complete.`,
    provider,
  );
}

/**
 * Remembers the event data a chunk was parsed from, so a writer can send those bytes instead of
 * re-serialising the object (the same record whole answers use, `core/raw-answer.ts`). Only single-line
 * data qualifies (it must fit one SSE `data:` line).
 */
export function keepRawText(chunk: object, data: string): void {
  if (!data.includes('\n')) keepRawAnswer(chunk, data);
}

/** The event data `chunk` was parsed from, if it was kept and the chunk is the parsed object itself. */
export function rawChunkText(chunk: object): string | undefined {
  return rawAnswerText(chunk);
}
