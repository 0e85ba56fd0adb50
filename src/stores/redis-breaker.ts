/**
 * The breaker in front of Redis (decision 0086). After `failureThreshold` consecutive failed commands
 * (timeouts or errors) it opens: callers skip Redis entirely — no command is sent, so no request waits
 * for a hung server. Once `cooldownMs` has passed, the next caller that asks moves it to half-open and
 * starts one background probe (the store sends a PING); requests keep skipping Redis meanwhile, so a probe
 * never costs a request any latency. The probe's success closes the breaker, its failure opens it again
 * for another cool-down.
 *
 * Time comes from the injected clock; nothing here sets a timer (the cool-down is checked when asked).
 *
 * @example
 * const breaker = new RedisBreaker({ failureThreshold: 3, cooldownMs: 1000, clock, probe: () => ping() });
 * if (breaker.allow()) breaker.record(await send().then(() => true, () => false));
 */
import type { Clock } from '../core/clock.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface RedisBreakerOptions {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker skips Redis before it probes. */
  cooldownMs: number;
  clock: Pick<Clock, 'now'>;
  /** Sends the probe; resolves true when Redis answered in time. Never rejects. */
  probe(): Promise<boolean>;
  /** Told of every state change (metrics, logs, the budget store's resync). */
  onChange?(to: BreakerState, from: BreakerState, detail: { failures: number }): void;
}

export class RedisBreaker {
  readonly #o: RedisBreakerOptions;
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;

  constructor(options: RedisBreakerOptions) {
    this.#o = options;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** Monotonic time the breaker last opened (meaningless while closed). */
  get openedAt(): number {
    return this.#openedAt;
  }

  /**
   * Whether a command may be sent now. An open breaker whose cool-down is over starts the probe here and
   * still answers false: the caller goes on without Redis.
   */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open' && this.#o.clock.now() - this.#openedAt >= this.#o.cooldownMs) {
      this.#move('half_open');
      void this.#o.probe().then(
        (ok) => this.#probed(ok),
        () => this.#probed(false),
      );
    }
    return false;
  }

  /**
   * The outcome of a command sent while the breaker was closed. Outcomes that arrive once it has opened
   * (late answers of a hung server) change nothing: only the probe closes it.
   */
  record(ok: boolean): void {
    if (this.#state !== 'closed') return;
    if (ok) {
      this.#failures = 0;
      return;
    }
    this.#failures++;
    if (this.#failures >= this.#o.failureThreshold) this.#open();
  }

  #probed(ok: boolean): void {
    if (this.#state !== 'half_open') return;
    if (ok) {
      this.#failures = 0;
      this.#move('closed');
    } else {
      this.#open();
    }
  }

  #open(): void {
    this.#openedAt = this.#o.clock.now();
    this.#move('open');
  }

  #move(to: BreakerState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#o.onChange?.(to, from, { failures: this.#failures });
  }
}
