/**
 * Reading server-sent events from an upstream body, with failures typed.
 */

import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../errors.js';
import { networkError } from './http.js';

export type { EventSourceMessage };

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
    for await (const chunk of body) {
      parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      for (let i = 0; i < pending.length; i++) yield pending[i] as EventSourceMessage;
      pending.length = 0;
    }
    parser.feed(`${decoder.decode()}\n\n`);
    for (const event of pending) yield event;
  } catch (err) {
    throw networkError(provider, err, signal);
  } finally {
    // Stops the socket read when the consumer leaves early (client gone, error).
    if (!body.destroyed) body.destroy();
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
