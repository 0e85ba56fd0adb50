/**
 * Request coalescing (DESIGN §6): identical cacheable requests in flight at the same moment share one
 * upstream call.
 *
 * The upstream call belongs to the flight, not to the request that started it: it runs on its own request
 * context, so the first client going away does not cut the answer the others wait for. Every participant
 * holds the flight; when the last one leaves before the answer is complete, the upstream call is aborted
 * (no tokens paid for nobody). A leader's error reaches every participant.
 *
 * The request that started the flight pays for the call, once (the others are charged nothing, like a hit):
 * when it leaves before the call ended while others still wait, its request ends with the call and is
 * charged the call's cost — the answer's usage, or, for a call cut off, what it streamed or the aborted
 * attempt's estimate — so nobody gets a paid answer free by starting a call and leaving.
 *
 * Streams fan out from their start: the flight keeps every chunk it read, and each participant replays
 * them at its own pace, then follows live — a slow client never slows the others. The leader reads the
 * upstream's chunk objects themselves (a native passthrough's events ride on them, held weakly: decision
 * 0213); a request that joined reads copies under its own id, translated like a hit.
 */
import { createContext, type RequestContext } from '../core/context.js';
import { ClientClosedError } from '../core/errors.js';
import type { JsonResult, OpenedStream, Outcome, StreamResult } from '../core/result.js';
import type { ChatCompletion, ChatCompletionChunk } from '../providers/types.js';
import { newCompletionId } from './entry.js';

/**
 * The context of a flight's own upstream call: the first participant's request, route and plan, with an
 * abort signal of its own. The call reports its progress (attempts, deployment, timings) into the first
 * participant's context, and is traced as part of that request (shared slots).
 */
export function flightContext(ctx: RequestContext): RequestContext {
  const f = createContext({
    requestId: ctx.requestId,
    clientRequestId: ctx.clientRequestId,
    startedAt: ctx.startedAt,
    log: ctx.log,
    endpoint: ctx.endpoint,
    path: ctx.path,
    headers: ctx.headers,
    upstream: ctx.upstream,
    timings: ctx.timings,
    slots: ctx.slots,
  });
  f.principal = ctx.principal;
  f.request = ctx.request;
  f.route = ctx.route;
  f.plan = ctx.plan;
  return f;
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
export class CompletionFlight extends Flight<JsonResult> {
  protected get finished(): boolean {
    return this.settled;
  }

  protected override onSettled(): void {
    this.settled = true;
  }

  /** Waits for the shared answer as one participant (its own disconnect only ends its own wait). */
  async wait(ctx: RequestContext): Promise<JsonResult> {
    this.join();
    try {
      return await raceAbort(this.result, ctx.abort.signal);
    } finally {
      this.leave();
    }
  }

  /**
   * Waits as the request that started the flight (it pays for the call): if it leaves before the answer,
   * its request ends with the call, and carries the answer's outcome (usage) to its settlement.
   */
  async lead(ctx: RequestContext): Promise<JsonResult> {
    try {
      return await this.wait(ctx);
    } catch (err) {
      if (ctx.abort.signal.aborted) {
        // Cut off (everyone left): the aborted attempt is in the shared `upstream.billable`, at its estimate.
        const result = await this.result.catch(() => null);
        if (result) ctx.outcome = result.outcome;
      }
      throw err;
    }
  }

  /** Waits as a request that joined the flight: the answer as its own response (its own id, like a hit). */
  async share(ctx: RequestContext): Promise<JsonResult> {
    const { body, outcome } = await this.wait(ctx);
    const own: ChatCompletion = { ...(body as ChatCompletion), id: newCompletionId() };
    return { kind: 'json', body: own, outcome: { ...outcome, source: 'cache' } };
  }
}

/** A stream flight: the upstream stream read once, fanned out to every participant from its start. */
export class StreamFlight extends Flight<StreamResult> {
  readonly chunks: ChatCompletionChunk[] = [];
  head: ChatCompletionChunk[] = [];
  /** Resolves when the upstream stream ended: true = complete, false = failed or cut. */
  readonly ended: Promise<boolean>;
  #endedResolve: (complete: boolean) => void = () => undefined;
  #done = false;
  #error: unknown = null;
  #wake: Array<() => void> = [];
  #opened: StreamResult | null = null;

  constructor(ctx: RequestContext, run: (flightCtx: RequestContext) => Promise<StreamResult>) {
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

  /** The upstream stream, once opened (its outcome says who served). */
  get opened(): StreamResult | null {
    return this.#opened;
  }

  protected override cancel(): void {
    this.#opened?.end({ complete: false, error: new ClientClosedError() });
  }

  async #pump(opened: StreamResult): Promise<void> {
    this.#opened = opened;
    this.head = opened.head;
    if (this.participants === 0) {
      // Everyone left while the stream was opening.
      this.#error = new ClientClosedError();
      opened.end({ complete: false, error: this.#error });
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
      opened.end({ complete: true, error: null });
      this.#finish(true);
    } catch (err) {
      this.#error = err;
      opened.end({ complete: false, error: err });
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

  /** The call's outcome once it ended either way (usage, text streamed); null when it never opened. */
  async finalOutcome(): Promise<Outcome | null> {
    await this.ended;
    return this.#opened?.outcome ?? null;
  }

  /**
   * The stream of the request that started the flight (its own subscription, wrapped by `wrap`); it pays for
   * the call. If it leaves before the stream opened, its request ends with the call and carries the call's
   * outcome to its settlement.
   */
  async lead(
    ctx: RequestContext,
    subscribed: Promise<OpenedStream>,
    wrap: (opened: OpenedStream) => StreamResult,
  ): Promise<StreamResult> {
    let opened: OpenedStream;
    try {
      opened = await subscribed;
    } catch (err) {
      if (ctx.abort.signal.aborted) ctx.outcome = await this.finalOutcome();
      throw err;
    }
    return this.#paidBy(wrap(opened));
  }

  /** The leader's result: if its stream ends first (its client left), it settles with the call's outcome. */
  #paidBy(result: StreamResult): StreamResult {
    const done = result.done.then(async (how) => {
      if (how.complete) return how;
      const call = await this.finalOutcome();
      if (call) adopt(result.outcome, call);
      return how;
    });
    return { ...result, done };
  }

  /** Every chunk the upstream sent, head included (for the cache write after a complete stream). */
  allChunks(): ChatCompletionChunk[] {
    return [...this.head, ...this.chunks];
  }

  /**
   * `subscribe` for a request that joined the flight: copies of the chunks under an id of its own, like a
   * hit. The copies carry none of what the upstream's objects hold weakly (a native passthrough's own
   * events, which name the leader's message or response id), so the request's codec translates them.
   */
  async follow(ctx: RequestContext): Promise<OpenedStream> {
    const id = newCompletionId();
    const opened = await this.subscribe(ctx, (c) => ({ ...c, id }));
    // The shared call's upstream life (thinking, pings: decision 0225) feeds this client's idle timer too.
    ctx.upstream.heard = this.ctx.upstream.heard;
    return opened;
  }

  /**
   * Opens the shared stream for one participant, replayed from the start; its close ends only its own
   * participation. The leader reads the chunk objects the upstream stream produced, unchanged (`view`
   * absent): every stage after the cache treats chunks as read-only, so they stay right for the others and
   * for the cache write.
   */
  async subscribe(
    ctx: RequestContext,
    view: (chunk: ChatCompletionChunk) => ChatCompletionChunk = same,
  ): Promise<OpenedStream> {
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
            return { done: false, value: view(chunk) };
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
      head: this.head.map(view),
      rest,
      close: () => leave(),
    };
  }
}

function same(chunk: ChatCompletionChunk): ChatCompletionChunk {
  return chunk;
}

/** What the call reported and streamed, onto the leader's outcome (which saw only what its client read). */
function adopt(target: Outcome, call: Outcome): void {
  target.usage = call.usage;
  target.partialUsage = call.partialUsage ?? target.partialUsage;
  target.finishReason = call.finishReason;
  target.output.text = call.output.text;
  target.output.overflow = call.output.overflow;
}

/**
 * In-flight calls by key (bounded by the number of requests in flight). Each flight sits in a holder that is
 * emptied when the flight leaves: the map's entries churn with every cacheable request, and V8 keeps the
 * tables a churning map leaves behind, entries included, alive through scavenges (decision 0191). An empty
 * holder keeps nothing of the call (its promise, the request's context) alive.
 */
export class FlightTable<F> {
  readonly #flights = new Map<string, { flight: F | null }>();

  get(key: string): F | undefined {
    return this.#flights.get(key)?.flight ?? undefined;
  }

  set(key: string, flight: F): void {
    const holder = this.#flights.get(key);
    if (holder) holder.flight = flight;
    else this.#flights.set(key, { flight });
  }

  /** Removes the flight if it is still the one registered under `key`. */
  delete(key: string, flight: F): void {
    const holder = this.#flights.get(key);
    if (holder === undefined || holder.flight !== flight) return;
    holder.flight = null;
    this.#flights.delete(key);
  }

  get size(): number {
    return this.#flights.size;
  }
}
