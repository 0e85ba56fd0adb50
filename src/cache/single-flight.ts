/**
 * Request coalescing (DESIGN §6): identical cacheable requests in flight at the same moment share one
 * upstream call.
 *
 * The upstream call belongs to the flight, not to the request that started it: it runs on its own request
 * context, so the first client going away does not cut the answer the others wait for. Every participant
 * holds the flight; when the last one leaves before the answer is complete, the upstream call is aborted
 * (no tokens paid for nobody). A leader's error reaches every participant.
 *
 * Streams fan out from their start: the flight keeps every chunk it read, and each participant replays
 * them at its own pace, then follows live — a slow client never slows the others.
 */
import { ClientClosedError } from '../errors.js';
import { createContext, type OpenedStream, type RequestContext } from '../pipeline/context.js';
import type { ChatCompletion, ChatCompletionChunk } from '../providers/types.js';

/** A new context for the flight's own upstream call, with the route and request of its first participant. */
export function flightContext(ctx: RequestContext): RequestContext {
  const f = createContext(ctx.requestId, ctx.log, ctx.startedAt);
  f.principal = ctx.principal;
  f.model = ctx.model;
  f.stream = ctx.stream;
  f.route = ctx.route;
  f.kind = ctx.kind;
  f.body = ctx.body;
  f.requestHeaders = ctx.requestHeaders;
  // Per-request state of other features (the trace the provider spans hang under) is the first
  // participant's: the upstream call is traced as part of that request.
  f.hookState = ctx.hookState;
  return f;
}

/** Copies what the upstream call learned (who served, usage, attempts) into a participant's context. */
export function adoptUpstream(ctx: RequestContext, flight: RequestContext, leader: boolean): void {
  ctx.deployment = flight.deployment;
  ctx.servedModel = flight.servedModel;
  ctx.usage = flight.usage;
  ctx.finishReason = flight.finishReason;
  if (leader) {
    ctx.attempts = flight.attempts;
    ctx.fallbackCount = flight.fallbackCount;
    ctx.timings.upstream = flight.timings.upstream;
    ctx.timings.wait = flight.timings.wait;
  }
}

/** Rejects with the signal's reason when it aborts first. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** One upstream call shared by its participants. */
export abstract class Flight<T> {
  readonly ctx: RequestContext;
  readonly result: Promise<T>;
  #participants = 0;
  #settled = false;

  constructor(ctx: RequestContext, run: (flightCtx: RequestContext) => Promise<T>) {
    this.ctx = flightContext(ctx);
    this.result = run(this.ctx);
    this.result.then(
      () => this.onSettled(),
      () => {
        this.#settled = true;
      },
    );
  }

  /** Whether the upstream work is over (the participants no longer keep it alive). */
  protected abstract get finished(): boolean;
  protected onSettled(): void {}

  join(): void {
    this.#participants++;
  }

  leave(): void {
    this.#participants--;
    if (this.#participants === 0 && !this.finished) {
      this.ctx.abort.abort(new ClientClosedError());
      this.cancel();
    }
  }

  protected cancel(): void {}

  get participants(): number {
    return this.#participants;
  }

  protected get settled(): boolean {
    return this.#settled;
  }

  protected set settled(value: boolean) {
    this.#settled = value;
  }
}

/** A non-stream flight: one completion for everyone. */
export class CompletionFlight extends Flight<ChatCompletion> {
  protected get finished(): boolean {
    return this.settled;
  }

  protected override onSettled(): void {
    this.settled = true;
  }

  /** Waits for the shared answer as one participant (its own disconnect only ends its own wait). */
  async wait(ctx: RequestContext): Promise<ChatCompletion> {
    this.join();
    try {
      return await raceAbort(this.result, ctx.abort.signal);
    } finally {
      this.leave();
    }
  }
}

/** A stream flight: the upstream stream read once, fanned out to every participant from its start. */
export class StreamFlight extends Flight<OpenedStream> {
  readonly chunks: ChatCompletionChunk[] = [];
  head: ChatCompletionChunk[] = [];
  /** Resolves when the upstream stream ended: true = complete, false = failed or cut. */
  readonly ended: Promise<boolean>;
  #endedResolve: (complete: boolean) => void = () => undefined;
  #done = false;
  #error: unknown = null;
  #wake: Array<() => void> = [];
  #opened: OpenedStream | null = null;

  constructor(ctx: RequestContext, run: (flightCtx: RequestContext) => Promise<OpenedStream>) {
    super(ctx, run);
    this.ended = new Promise((resolve) => {
      this.#endedResolve = resolve;
    });
    this.result.then(
      (opened) => void this.#pump(opened),
      () => this.#finish(false),
    );
  }

  protected get finished(): boolean {
    return this.#done;
  }

  protected override cancel(): void {
    this.#opened?.close(false);
  }

  async #pump(opened: OpenedStream): Promise<void> {
    this.#opened = opened;
    this.head = opened.head;
    if (this.participants === 0) {
      // Everyone left while the stream was opening.
      opened.close(false);
      this.#error = new ClientClosedError();
      this.#finish(false);
      return;
    }
    try {
      for (;;) {
        const next = await opened.rest.next();
        if (next.done) break;
        this.chunks.push(next.value);
        this.#notify();
      }
      opened.close(true);
      this.#finish(true);
    } catch (err) {
      this.#error = err;
      opened.close(false);
      this.#finish(false);
    }
  }

  #finish(complete: boolean): void {
    this.#done = true;
    this.settled = true;
    this.#notify();
    this.#endedResolve(complete);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = [];
    for (const w of wake) w();
  }

  /** Every chunk the upstream sent, head included (for the cache write after a complete stream). */
  allChunks(): ChatCompletionChunk[] {
    return [...this.head, ...this.chunks];
  }

  /**
   * Opens the shared stream for one participant: its own copies of the chunks (the SSE writer edits
   * them), replayed from the start. Its close ends only its own participation.
   */
  async subscribe(ctx: RequestContext): Promise<OpenedStream> {
    this.join();
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      this.leave();
    };
    try {
      await raceAbort(this.result, ctx.abort.signal);
    } catch (err) {
      leave();
      throw err;
    }
    let i = 0;
    const signal = ctx.abort.signal;
    const rest: AsyncIterator<ChatCompletionChunk> = {
      next: async () => {
        for (;;) {
          if (signal.aborted) throw signal.reason;
          const chunk = this.chunks[i];
          if (chunk !== undefined) {
            i++;
            return { done: false, value: { ...chunk } };
          }
          if (this.#done) {
            if (this.#error !== null) throw this.#error;
            return { done: true, value: undefined };
          }
          await raceAbort(
            new Promise<void>((resolve) => {
              this.#wake.push(resolve);
            }),
            signal,
          );
        }
      },
      return: async () => {
        leave();
        return { done: true, value: undefined };
      },
    };
    return {
      head: this.head.map((c) => ({ ...c })),
      rest,
      close: () => leave(),
    };
  }
}

/** In-flight calls by key (bounded by the number of requests in flight). */
export class FlightTable<F> {
  readonly #flights = new Map<string, F>();

  get(key: string): F | undefined {
    return this.#flights.get(key);
  }

  set(key: string, flight: F): void {
    this.#flights.set(key, flight);
  }

  /** Removes the flight if it is still the one registered under `key`. */
  delete(key: string, flight: F): void {
    if (this.#flights.get(key) === flight) this.#flights.delete(key);
  }

  get size(): number {
    return this.#flights.size;
  }
}
