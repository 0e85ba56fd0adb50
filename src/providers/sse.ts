/**
 * Reading server-sent events from an upstream body, with failures typed.
 *
 * One pass per upstream read (decision 0200): the body's `data` events feed the SSE parser, whose events
 * wait in a queue; the consumer's `next()` has the provider's `EventTranslator` translate them, one at a
 * time, as it takes items (decision 0203: the first item of a read leaves before the rest is translated).
 * Before, every event crossed two async generators (the reader, the provider's translation) and the stream
 * result's iterator, each with its own promises per event.
 */

import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../core/errors.js';
import type { StreamLiveness } from '../core/liveness.js';
import { keepRawAnswer, rawAnswerText } from '../core/raw-answer.js';
import { networkError } from './http.js';

export type { EventSourceMessage };

/** How long the rest of a finished stream's body may take to arrive before the connection is dropped. */
const DRAIN_MS = 1000;

/** Events and items waiting before the body is paused until the consumer catches up (backpressure). */
const HIGH_WATER = 64;

/** An upstream body: undici's, or a plain readable (recorded fixtures). */
export type SseBody = Dispatcher.ResponseData['body'];

/**
 * Turns a provider's SSE events into items (OpenAI chunks). Synchronous: it is called once per event, in
 * order, when the consumer asks for an item and none is ready. A throw fails the stream with that error,
 * after the items before it.
 */
export interface EventTranslator<T> {
  /** Pushes what `event` translates to onto `out`; answers true when it completes the stream. */
  event(event: EventSourceMessage, out: T[]): boolean;
  /** The body ended before an event completed the stream: push closing items, or throw (a cut-off). */
  end(out: T[]): void;
}

/**
 * The items of an upstream SSE body, translated as they arrive. A socket error or abort while reading
 * becomes a typed error (the abort's own reason when it is one). Once the stream completes, or the consumer
 * stops early (`return`), the rest of the body is drained, bounded in time, so the keep-alive connection
 * goes back to the pool. Every read that completes an event or a comment is noted on `heard`, also when
 * the translation makes nothing of it (decision 0225).
 */
export function sseItems<T>(
  provider: string,
  body: SseBody,
  signal: AbortSignal,
  translator: EventTranslator<T>,
  heard?: StreamLiveness | undefined,
): AsyncIterableIterator<T> {
  return new SseStream(provider, body, signal, translator, heard ?? null);
}

/** The raw SSE events of an upstream body (no translation; the stream ends with the body). */
export function readSse(
  provider: string,
  body: SseBody,
  signal: AbortSignal,
): AsyncIterableIterator<EventSourceMessage> {
  return new SseStream(provider, body, signal, EVENTS, null);
}

const EVENTS: EventTranslator<EventSourceMessage> = {
  event(event, out) {
    out.push(event);
    return false;
  },
  end() {},
};

/**
 * Translates events from any source (a recorded or synthetic event list) with a provider's translator:
 * the same translation `sseItems` applies to a live body.
 */
export async function* translateEvents<T>(
  events: AsyncIterable<EventSourceMessage>,
  translator: EventTranslator<T>,
): AsyncGenerator<T> {
  const out: T[] = [];
  for await (const event of events) {
    const complete = translator.event(event, out);
    for (let i = 0; i < out.length; i++) yield out[i] as T;
    out.length = 0;
    if (complete) return;
  }
  translator.end(out);
  yield* out;
}

interface Waiter<T> {
  resolve(result: IteratorResult<T>): void;
  reject(err: unknown): void;
}

class SseStream<T> implements AsyncIterableIterator<T> {
  readonly #provider: string;
  readonly #body: SseBody;
  readonly #signal: AbortSignal;
  readonly #translator: EventTranslator<T>;
  readonly #parser: EventSourceParser;
  readonly #decoder = new TextDecoder();
  /** Events parsed from the body and not yet translated; `#eventAt` of them were. */
  #events: EventSourceMessage[] = [];
  #eventAt = 0;
  /** Translated items not yet taken; `#taken` of them were. */
  #items: T[] = [];
  #taken = 0;
  /** The body is read no further: it ended or failed, or the stream completed or was stopped. */
  #closed = false;
  /** The body ended; the translator's `end` runs once its events are translated. */
  #ended = false;
  /** A socket failure, reported after the events that arrived before it. */
  #broken: unknown = null;
  /** No item will be added: the stream completed, failed, or was stopped. */
  #done = false;
  /** The failure to report once the queue is empty (reported once). */
  #failure: unknown = null;
  #paused = false;
  /** Whether the body held any event: a body without one is not an event stream (a JSON or HTML page). */
  #sawEvent = false;
  /** What the current read completed: 0 nothing, 1 comments only, 2 an event (noted on `#heard`). */
  #fresh = 0;
  readonly #heard: StreamLiveness | null;
  #waiter: Waiter<T> | null = null;
  readonly #onData = (chunk: Uint8Array | string) => this.#read(chunk);
  readonly #onEnd = () => this.#end();
  readonly #onError = (err: unknown) => this.#break(networkError(this.#provider, err, this.#signal, true));
  readonly #onClose = () => this.#break(networkError(this.#provider, prematureClose(), this.#signal, true));

  constructor(
    provider: string,
    body: SseBody,
    signal: AbortSignal,
    translator: EventTranslator<T>,
    heard: StreamLiveness | null,
  ) {
    this.#provider = provider;
    this.#body = body;
    this.#signal = signal;
    this.#translator = translator;
    this.#heard = heard;
    this.#parser = createParser({
      onEvent: (event) => {
        this.#sawEvent = true;
        this.#fresh = 2;
        this.#events.push(event);
      },
      onComment: () => {
        if (this.#fresh === 0) this.#fresh = 1;
      },
    });
    body.on('data', this.#onData);
    body.on('end', this.#onEnd);
    body.on('error', this.#onError);
    body.on('close', this.#onClose);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    this.#fill();
    if (this.#taken < this.#items.length) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#done) return this.#finalResult();
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** The consumer stopped (at the end marker, on an error, or the client left). */
  return(): Promise<IteratorResult<T>> {
    this.#finish(null);
    this.#items = [];
    this.#taken = 0;
    this.#failure = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  #read(chunk: Uint8Array | string): void {
    if (this.#closed) return;
    this.#parser.feed(typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    if (this.#fresh !== 0) {
      // Once per read, not per event: a clock read, no timer touched.
      this.#heard?.note(this.#fresh === 2);
      this.#fresh = 0;
    }
    this.#wake();
    if (!this.#closed && this.#backlog() >= HIGH_WATER) {
      this.#paused = true;
      this.#body.pause();
    }
  }

  #end(): void {
    if (this.#closed) return;
    this.#parser.feed(`${this.#decoder.decode()}\n\n`);
    this.#ended = true;
    this.#close();
    this.#wake();
  }

  #break(err: unknown): void {
    if (this.#closed) return;
    this.#broken = err;
    this.#close();
    this.#wake();
  }

  /**
   * Translates waiting events until an item is ready, or until none is left. Lazily, at the consumer's
   * pace: one upstream read often carries a whole answer, and its first item (the client's first byte)
   * must not wait for the translation of the rest.
   */
  #fill(): void {
    this.#translate();
    // Events that translate to nothing (pings) leave the backlog too: a paused body may have to resume.
    this.#resumeIfDrained();
  }

  #translate(): void {
    while (this.#taken === this.#items.length && !this.#done) {
      let complete: boolean;
      try {
        if (this.#eventAt < this.#events.length) {
          const event = this.#events[this.#eventAt++] as EventSourceMessage;
          if (this.#eventAt === this.#events.length) {
            this.#events.length = 0;
            this.#eventAt = 0;
          }
          // Events after the completing one (in the same read, too) are not the answer's.
          complete = this.#translator.event(event, this.#items);
        } else if (this.#broken !== null) {
          this.#finish(this.#broken);
          return;
        } else if (this.#ended) {
          if (!this.#sawEvent) throw notAnEventStream(this.#provider);
          this.#translator.end(this.#items);
          complete = true;
        } else return; // wait for the next read
      } catch (err) {
        this.#finish(err); // the translator refused an event: its error as it is
        return;
      }
      if (complete) this.#finish(null);
    }
  }

  /** No item will be added: report `failure` (if any) once the queue is empty, and let the body go. */
  #finish(failure: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#failure = failure;
    this.#events = [];
    this.#eventAt = 0;
    if (!this.#closed) this.#close();
  }

  /** Stop listening (but for errors) and drain what is left of the body, unless it ended. */
  #close(): void {
    this.#closed = true;
    const body = this.#body;
    body.off('data', this.#onData);
    body.off('end', this.#onEnd);
    body.off('close', this.#onClose);
    // The error listener stays: a body destroyed later (the call aborted) must not emit an unhandled error.
    // An ended body has nothing left to drain: its connection went back to the pool when the response
    // was complete, and the stream destroys itself. No dump, no timer, on the common path.
    if (body.destroyed || this.#ended) return;
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

  /** Events and items waiting for the consumer. */
  #backlog(): number {
    return this.#events.length - this.#eventAt + this.#items.length - this.#taken;
  }

  #take(): T {
    const item = this.#items[this.#taken] as T;
    this.#taken++;
    if (this.#taken === this.#items.length) {
      this.#items.length = 0;
      this.#taken = 0;
    }
    this.#resumeIfDrained();
    return item;
  }

  #resumeIfDrained(): void {
    if (this.#paused && !this.#closed && this.#backlog() < HIGH_WATER / 2) {
      this.#paused = false;
      this.#body.resume();
    }
  }

  #finalResult(): Promise<IteratorResult<T>> {
    const failure = this.#failure;
    if (failure === null) return Promise.resolve({ value: undefined, done: true });
    this.#failure = null;
    return Promise.reject(failure);
  }

  /** Hands the waiting consumer the next item, or the end. */
  #wake(): void {
    const waiter = this.#waiter;
    if (waiter === null) return;
    this.#fill();
    if (this.#taken < this.#items.length) {
      this.#waiter = null;
      waiter.resolve({ value: this.#take(), done: false });
    } else if (this.#done) {
      this.#waiter = null;
      this.#finalResult().then(waiter.resolve, waiter.reject);
    }
  }
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
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
/** A stream request answered with a body that holds no event at all (a JSON answer, an HTML error page). */
function notAnEventStream(provider: string): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${provider} answered the stream request with a body that is not an event stream (no events).`,
    provider,
  );
}

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
