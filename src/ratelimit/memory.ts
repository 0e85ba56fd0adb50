/**
 * In-process token buckets for a single instance (the embedded default). Same math as Redis
 * (`bucket.ts`), and like the Redis script one synchronous step checks and charges every bucket of a call
 * (the tier's and each tenancy level's, all under one principal tag) — all or none. Memory is bounded: at
 * most `maxBuckets` buckets are kept, the least recently used dropped first — a dropped bucket would have
 * refilled towards full anyway, and full buckets (idle long enough) are the only ones whose loss changes
 * nothing, so the sweep prefers them.
 */
import { RecencyOrder } from '../core/recency.js';
import {
  type BucketSpec,
  type RateLimiter,
  type StoredBucket,
  type TakeMode,
  type TakeResult,
  takeAll,
} from './bucket.js';

interface Slot {
  bucket: StoredBucket;
  /** When the bucket is full again (ms, clock time): then it is worth nothing and may be dropped. */
  fullAt: number;
  /** When it last moved in the map's order (`RecencyOrder`). */
  movedAt: number;
}

/** @example const limiter = new MemoryRateLimiter({ maxBuckets: 100_000, now: () => performance.now() }); */
export class MemoryRateLimiter implements RateLimiter {
  readonly backend = 'memory' as const;
  /** By `<principal>\u0000<bucket name>`; Map order is the LRU order. */
  readonly #slots = new Map<string, Slot>();
  readonly #maxBuckets: number;
  readonly #now: () => number;
  readonly #order: RecencyOrder;

  constructor(options: { maxBuckets: number; now: () => number }) {
    this.#maxBuckets = options.maxBuckets;
    this.#now = options.now;
    this.#order = new RecencyOrder(options.maxBuckets);
  }

  get size(): number {
    return this.#slots.size;
  }

  async take(principal: string, specs: readonly BucketSpec[], mode: TakeMode): Promise<TakeResult> {
    return this.takeSync(principal, specs, mode);
  }

  /** One synchronous step: every bucket of the call is checked, then all are charged or none. */
  takeSync(principal: string, specs: readonly BucketSpec[], mode: TakeMode): TakeResult {
    const now = this.#now();
    const ids = specs.map((spec) => `${principal}\u0000${spec.name}`);
    const stored = ids.map((id) => {
      const slot = this.#slots.get(id);
      return slot && slot.fullAt > now ? slot.bucket : undefined;
    });
    const { result, next } = takeAll(stored, specs, now, mode);
    if (next) {
      ids.forEach((id, i) => {
        const bucket = next[i] as StoredBucket;
        const fullAt = now + (result.buckets[i]?.resetMs ?? 0);
        const slot = this.#slots.get(id);
        // Updated in place; Map order is the LRU order, kept by `RecencyOrder`.
        if (slot === undefined) this.#slots.set(id, { bucket, fullAt, movedAt: this.#order.stamp() });
        else {
          slot.bucket = bucket;
          slot.fullAt = fullAt;
          this.#order.touch(this.#slots, id, slot);
        }
      });
      if (this.#slots.size > this.#maxBuckets) this.#evict(now);
    }
    return result;
  }

  /** Drops full buckets among the oldest first (nothing lost), then the least recently used. */
  #evict(now: number): void {
    let scanned = 0;
    for (const [key, slot] of this.#slots) {
      if (this.#slots.size <= this.#maxBuckets || ++scanned > 64) break;
      if (slot.fullAt <= now) this.#slots.delete(key);
    }
    while (this.#slots.size > this.#maxBuckets) {
      const oldest = this.#slots.keys().next().value;
      if (oldest === undefined) return;
      this.#slots.delete(oldest);
    }
  }
}
