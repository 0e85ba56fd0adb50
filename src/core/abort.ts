/**
 * A request's abort controller, without Node's `EventTarget`
 * ([decision 0188](../../docs/decisions/0188-one-hidden-class-per-shape.md)).
 *
 * Every request has one (`ctx.abort`). On Node 20 each `AbortSignal` gets a hidden class of its own (Node
 * builds it as an `EventTarget` and then changes its prototype, a transition V8 11.3 does not cache): a
 * new map per request, old-generation garbage until the next full collection, 740 bytes per signal with
 * its two listener maps, and inline caches that see a new map every time.
 * `RequestAbort` has the same surface (`signal`, `abort(reason)`) and its signal is a plain object with
 * `AbortSignal`'s members, so undici, `events.addAbortListener` and the gateway's own code take it as they
 * take a standard signal.
 *
 * What it does not do: `AbortSignal.any` and `AbortSignal.timeout` only combine standard signals (they
 * track their sources through Node internals); pass `standardSignal(signal)` there. Listeners get an
 * `Event` of type `abort` whose `target` is null. `addEventListener`'s `signal` option is not supported
 * (nothing here uses it).
 */

type Listener = Parameters<EventTarget['addEventListener']>[1];
type AddOptions = Parameters<EventTarget['addEventListener']>[2];
type RemoveOptions = Parameters<EventTarget['removeEventListener']>[2];

/** The `AbortSignal` of a `RequestAbort`. */
export class RequestSignal implements AbortSignal {
  aborted = false;
  // biome-ignore lint/suspicious/noExplicitAny: AbortSignal's own type for `reason`.
  reason: any = undefined;
  onabort: ((this: AbortSignal, ev: Event) => unknown) | null = null;
  /** Listeners in the order added; null once aborted (no listener is added after that). */
  #listeners: Listener[] | null = [];
  /** A standard signal that follows this one, made on first use (`standardSignal`). */
  #standard: AbortSignal | null = null;

  addEventListener(type: string, listener: Listener | null, _options?: AddOptions): void {
    const listeners = this.#listeners;
    if (type !== 'abort' || listener === null || listeners === null) return;
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(type: string, listener: Listener | null, _options?: RemoveOptions): void {
    const listeners = this.#listeners;
    if (type !== 'abort' || listener === null || listeners === null) return;
    const i = listeners.indexOf(listener);
    if (i !== -1) listeners.splice(i, 1);
  }

  dispatchEvent(event: Event): boolean {
    if (event.type === 'abort') this.#fire(event);
    return true;
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** Marks the signal aborted and calls its listeners once, as an `AbortSignal` does. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#fire(new Event('abort'));
  }

  /** The standard signal that follows this one (made once). */
  standard(): AbortSignal {
    if (this.#standard === null) {
      const controller = new AbortController();
      if (this.aborted) controller.abort(this.reason);
      else this.addEventListener('abort', () => controller.abort(this.reason));
      this.#standard = controller.signal;
    }
    return this.#standard;
  }

  #fire(event: Event): void {
    const listeners = this.#listeners;
    this.#listeners = null;
    if (this.onabort) call(this, this.onabort, event);
    if (listeners === null) return;
    for (const listener of listeners) call(this, listener, event);
  }
}

/** Calls one listener; what it throws is rethrown on its own tick, as `EventTarget` does. */
function call(signal: AbortSignal, listener: Listener | ((ev: Event) => unknown), event: Event): void {
  try {
    if (typeof listener === 'function') listener.call(signal, event);
    else listener.handleEvent(event);
  } catch (err) {
    process.nextTick(() => {
      throw err;
    });
  }
}

/** A request's abort controller: `AbortController`'s surface, a `RequestSignal` inside. */
export class RequestAbort implements AbortController {
  readonly signal = new RequestSignal();

  abort(reason?: unknown): void {
    this.signal.abort(
      reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason,
    );
  }
}

/** `signal` as a standard `AbortSignal`, for `AbortSignal.any` and Node APIs that need Node's own. */
export function standardSignal(signal: AbortSignal): AbortSignal {
  return signal instanceof RequestSignal ? signal.standard() : signal;
}
