/**
 * Rate limits while Redis is unavailable (DESIGN §7, decision 0087): the Redis token buckets, and an
 * in-process limiter that takes over whenever Redis is skipped (breaker open) or a call fails. Limits
 * degrade to per instance, never to unlimited: the same tiers, each bucket's capacity and refill rate
 * divided by `rate_limit.fallback_instances` (1 by default: every instance enforces the whole limit, so a
 * principal spread over N instances gets up to N× its limit during the outage; set it to the instance count
 * to keep the total near the limit at the price of a stricter limit for a principal pinned to one instance).
 *
 * The local buckets start full and are not written back: when Redis answers again its buckets are in force
 * again (they refilled meanwhile anyway).
 */
import type { RedisStore } from '../stores/redis.js';
import type { BucketSpec, RateLimiter, TakeMode, TakeResult } from './bucket.js';
import type { MemoryRateLimiter } from './memory.js';

export interface FallbackRateLimiterOptions {
  primary: RateLimiter;
  redis: Pick<RedisStore, 'available' | 'failed'>;
  local: MemoryRateLimiter;
  /** Each local bucket gets 1/instances of the capacity and refill rate. */
  instances: number;
}

/** What the fallback decided: the result, flagged so the feature can count it. */
export type FallbackTakeResult = TakeResult & { fallback?: true };

/** @example new FallbackRateLimiter({ primary: new RedisRateLimiter(redis), redis, local, instances: 1 }) */
export class FallbackRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  readonly #o: FallbackRateLimiterOptions;

  constructor(options: FallbackRateLimiterOptions) {
    this.#o = options;
  }

  async take(principal: string, specs: readonly BucketSpec[], mode: TakeMode): Promise<FallbackTakeResult> {
    if (this.#o.redis.available()) {
      try {
        return await this.#o.primary.take(principal, specs, mode);
      } catch (err) {
        this.#o.redis.failed(mode === 'force' ? 'ratelimit.settle' : 'ratelimit.take', err);
      }
    } else {
      this.#o.redis.failed(mode === 'force' ? 'ratelimit.settle' : 'ratelimit.take', SKIPPED);
    }
    const result: FallbackTakeResult = this.#o.local.takeSync(
      principal,
      localSpecs(specs, this.#o.instances),
      mode,
    );
    result.fallback = true;
    return result;
  }
}

const SKIPPED = new Error('Redis skipped (breaker open)');

/** The per-instance share of each bucket; a cost above the smaller capacity is capped so it can pass. */
export function localSpecs(specs: readonly BucketSpec[], instances: number): BucketSpec[] {
  if (instances <= 1) return [...specs];
  return specs.map((s) => {
    const capacity = Math.max(1, s.capacity / instances);
    return { ...s, capacity, ratePerMs: s.ratePerMs / instances, cost: Math.min(s.cost, capacity) };
  });
}
