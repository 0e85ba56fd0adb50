/**
 * A circuit breaker per deployment (DESIGN §5): a small state machine over an injected clock.
 *
 *   CLOSED ──(failure rate ≥ threshold over the window, with at least `minRequests`; or N consecutive
 *            failures)──▶ OPEN ──(cool-down passed)──▶ HALF_OPEN ──(probe succeeds)──▶ CLOSED
 *                                                              └──(probe fails)──▶ OPEN (cool-down again)
 *
 * One "request" to the breaker is one pass over the deployment (its own retries included). Only outcomes
 * that say something about the deployment are reported as failures (timeouts, 5xx, connection errors, 429);
 * the caller reports anything else as `release()`, which changes no statistics — a 4xx, a client that went
 * away, a timeout of a request too large for its time (see routing/fault.ts).
 *
 * Why not cockatiel: see docs/decisions/0040-circuit-breaker-per-instance.md.
 */

export type BreakerState = 'closed' | 'open' | 'half_open';

/** Gauge value of `llm_circuit_state`: 0 closed, 1 half-open, 2 open. */
export const STATE_GAUGE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface BreakerSettings {
  /** Failure fraction (0–1] over the window that opens the breaker. */
  failureRateThreshold: number;
  /** Length of the sliding window the failure rate is measured over. */
  windowMs: number;
  /** Requests the window must hold before the failure rate counts. */
  minRequests: number;
  /** Consecutive failures that open the breaker regardless of the rate (0 = off). */
  consecutiveFailures: number;
  /** Time OPEN before probes are let through. */
  cooldownMs: number;
  /** Requests let through at once while HALF_OPEN. */
  halfOpenProbes: number;
  /**
   * Expected time per output token of a healthy deployment, ms (0 or absent = every timeout counts). A
   * whole-answer request whose output limit × this passes its timeout timed out by its own size: not a
   * failure of the deployment (routing/fault.ts). Not used by the breaker itself.
   */
  expectedMsPerOutputToken?: number;
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures / requests in the window (0 when empty). */
  errorRate: number;
  requestsInWindow: number;
  consecutiveFailures: number;
  /** Milliseconds until an OPEN breaker lets a probe through; null unless OPEN. */
  retryInMs: number | null;
}

/** Buckets of the sliding window: the window moves in steps of windowMs / BUCKETS. */
const BUCKETS = 10;

/**
 * One deployment's breaker. `now` is the gateway clock (ms, monotonic).
 *
 * @example
 * const breaker = new CircuitBreaker(settings, () => clock.now(), (s) => gauge.set(STATE_GAUGE[s]));
 * if (breaker.tryAcquire()) { try { await call(); breaker.success(); } catch { breaker.failure(); } }
 */
export class CircuitBreaker {
  readonly settings: Readonly<BreakerSettings>;
  readonly #now: () => number;
  readonly #onChange: (state: BreakerState) => void;
  #state: BreakerState = 'closed';
  #openedAt = 0;
  #probesInFlight = 0;
  #consecutive = 0;
  // Ring of buckets: start time, requests and failures of each.
  readonly #bucketStart = new Float64Array(BUCKETS);
  readonly #bucketTotal = new Uint32Array(BUCKETS);
  readonly #bucketFailed = new Uint32Array(BUCKETS);
  readonly #bucketMs: number;

  constructor(
    settings: BreakerSettings,
    now: () => number,
    onChange: (state: BreakerState) => void = () => undefined,
  ) {
    this.settings = Object.freeze({ ...settings });
    this.#now = now;
    this.#onChange = onChange;
    this.#bucketMs = Math.max(1, settings.windowMs / BUCKETS);
    this.#bucketStart.fill(Number.NEGATIVE_INFINITY);
  }

  /** The current state (an OPEN breaker whose cool-down passed reads HALF_OPEN). */
  get state(): BreakerState {
    this.#refresh();
    return this.#state;
  }

  /**
   * Asks to send one request. CLOSED: yes. OPEN: no. HALF_OPEN: yes while fewer than `halfOpenProbes` probes
   * are in flight. A `true` must be followed by exactly one of success(), failure() or release().
   */
  tryAcquire(): boolean {
    this.#refresh();
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') return false;
    if (this.#probesInFlight >= this.settings.halfOpenProbes) return false;
    this.#probesInFlight++;
    return true;
  }

  /** The deployment answered. A HALF_OPEN probe that succeeds closes the breaker. */
  success(): void {
    this.#consecutive = 0;
    if (this.#state === 'half_open') {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      this.#resetWindow();
      this.#transition('closed');
      return;
    }
    this.#record(false);
  }

  /** The deployment failed (timeout, 5xx, connection error, 429). */
  failure(): void {
    this.#consecutive++;
    if (this.#state === 'half_open') {
      this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
      this.#open();
      return;
    }
    if (this.#state === 'open') return; // a request admitted before the breaker opened
    this.#record(true);
    const s = this.settings;
    const { total, failed } = this.#window();
    const tooMany = s.consecutiveFailures > 0 && this.#consecutive >= s.consecutiveFailures;
    if (tooMany || (total >= s.minRequests && failed / total >= s.failureRateThreshold)) this.#open();
  }

  /** The request ended without saying anything about the deployment (client gone, 400): frees a probe slot. */
  release(): void {
    if (this.#state === 'half_open') this.#probesInFlight = Math.max(0, this.#probesInFlight - 1);
  }

  /** Milliseconds until an OPEN breaker lets a probe through; null unless OPEN. */
  retryInMs(): number | null {
    this.#refresh();
    if (this.#state !== 'open') return null;
    return Math.max(0, this.#openedAt + this.settings.cooldownMs - this.#now());
  }

  snapshot(): BreakerSnapshot {
    const { total, failed } = this.#window();
    return {
      state: this.state,
      errorRate: total === 0 ? 0 : failed / total,
      requestsInWindow: total,
      consecutiveFailures: this.#consecutive,
      retryInMs: this.retryInMs(),
    };
  }

  #refresh(): void {
    if (this.#state === 'open' && this.#now() >= this.#openedAt + this.settings.cooldownMs) {
      this.#probesInFlight = 0;
      this.#transition('half_open');
    }
  }

  #open(): void {
    this.#openedAt = this.#now();
    this.#transition('open');
  }

  #transition(next: BreakerState): void {
    if (next === this.#state) return;
    this.#state = next;
    this.#onChange(next);
  }

  #record(failed: boolean): void {
    const now = this.#now();
    const start = Math.floor(now / this.#bucketMs) * this.#bucketMs;
    const i = Math.floor(now / this.#bucketMs) % BUCKETS;
    if (this.#bucketStart[i] !== start) {
      this.#bucketStart[i] = start;
      this.#bucketTotal[i] = 0;
      this.#bucketFailed[i] = 0;
    }
    this.#bucketTotal[i] = (this.#bucketTotal[i] ?? 0) + 1;
    if (failed) this.#bucketFailed[i] = (this.#bucketFailed[i] ?? 0) + 1;
  }

  #window(): { total: number; failed: number } {
    const oldest = this.#now() - this.settings.windowMs;
    let total = 0;
    let failed = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if ((this.#bucketStart[i] as number) + this.#bucketMs <= oldest) continue;
      total += this.#bucketTotal[i] as number;
      failed += this.#bucketFailed[i] as number;
    }
    return { total, failed };
  }

  #resetWindow(): void {
    this.#bucketStart.fill(Number.NEGATIVE_INFINITY);
    this.#bucketTotal.fill(0);
    this.#bucketFailed.fill(0);
  }
}
