/**
 * Per-source throttling of failed authentication (DESIGN §7; docs/decisions/0085-bounded-input.md).
 *
 * Each client address has a token bucket (`burst` tokens, refilled at `per_minute`). Every failed
 * authentication (no key, unknown, revoked or expired key) takes a token. While a source's bucket is empty,
 * a request from it whose key this instance does not already know is refused with 429 and `Retry-After`
 * before any database lookup: no query. Keys already known to the instance are
 * never throttled, so a valid client behind the same address as an attacker keeps working.
 *
 * Memory is bounded: at most `max_sources` addresses are tracked (the memory rate limiter's LRU, which
 * drops full buckets first — a dropped bucket would have been full anyway).
 */
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { GatewayRateLimitError } from '../core/errors.js';
import type { BucketSpec } from '../ratelimit/bucket.js';
import { MemoryRateLimiter } from '../ratelimit/memory.js';

export type FailureThrottleConfig = Config['auth']['failure_throttle'];

/** What the throttle uses when the auth config has no `failure_throttle` (hand-made configs in tests). */
export const DEFAULT_FAILURE_THROTTLE: FailureThrottleConfig = {
  per_minute: 30,
  burst: 30,
  max_sources: 10_000,
};

/**
 * @example
 * const throttle = new FailureThrottle(config.auth.failure_throttle, clock);
 * throttle.assertAllowed(ip);   // 429 while the source is out of attempts
 * throttle.failed(ip);          // after a failed authentication
 */
export class FailureThrottle {
  readonly #limiter: MemoryRateLimiter | null;
  readonly #spec: BucketSpec;

  constructor(config: FailureThrottleConfig, clock: Pick<Clock, 'now'>) {
    this.#spec = { name: 'r', ratePerMs: config.per_minute / 60_000, capacity: config.burst, cost: 1 };
    // per_minute 0 turns the throttle off.
    this.#limiter =
      config.per_minute > 0
        ? new MemoryRateLimiter({ maxBuckets: config.max_sources, now: () => clock.now() })
        : null;
  }

  /** Sources tracked (bounded by `max_sources`). */
  get size(): number {
    return this.#limiter?.size ?? 0;
  }

  /** @throws GatewayRateLimitError (429, Retry-After) while `source` has no failed attempt left. */
  assertAllowed(source: string): void {
    if (!this.#limiter) return;
    const bucket = this.#limiter.takeSync(source, [this.#spec], 'peek').buckets[0];
    if (!bucket || bucket.tokens >= 1) return;
    const retryAfterMs = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#spec.ratePerMs));
    throw new GatewayRateLimitError(
      `Too many failed authentication attempts from this address; retry after ${Math.ceil(retryAfterMs / 1000)} s.`,
      retryAfterMs,
      'rate_limit_exceeded',
    );
  }

  /** Counts one failed authentication of `source`. */
  failed(source: string): void {
    this.#limiter?.takeSync(source, [this.#spec], 'take');
  }
}
