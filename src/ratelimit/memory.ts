/**
 * In-process token buckets for a single instance (the embedded default). Same math as Redis
 * (`bucket.ts`); memory is bounded: at most `maxBuckets` principals are kept, the least recently used one
 * is dropped first — a dropped bucket would have refilled towards full anyway, and full buckets (idle long
 * enough) are the only ones whose loss changes nothing, so the sweep prefers them.
 */
import {
  type BucketSpec,
  type RateLimiter,
  type StoredBucket,
  type TakeMode,
  type TakeResult,
  takeAll,
} from './bucket.js';

interface Slot {
  buckets: Array<StoredBucket | undefined>;
  /** When every bucket of the slot is full again (ms, clock time). */
  fullAt: number;
}

/** @example const limiter = new MemoryRateLimiter({ maxBuckets: 100_000, now: () => performance.now() }); */
export class MemoryRateLimiter implements RateLimiter {
  readonly backend = 'memory' as const;
  readonly #slots = new Map<string, Slot>();
  readonly #maxBuckets: number;
  readonly #now: () => number;

  constructor(options: { maxBuckets: number; now: () => number }) {
    this.#maxBuckets = options.maxBuckets;
    this.#now = options.now;
  }

  get size(): number {
    return this.#slots.size;
  }

  async take(principal: string, specs: readonly BucketSpec[], mode: TakeMode): Promise<TakeResult> {
    return this.takeSync(principal, specs, mode);
  }

  takeSync(principal: string, specs: readonly BucketSpec[], mode: TakeMode): TakeResult {
    const now = this.#now();
    const slot = this.#slots.get(principal);
    const stored = specs.map((spec) =>
      slot && slot.fullAt > now ? slot.buckets[bucketIndex(spec)] : undefined,
    );
    const { result, next } = takeAll(stored, specs, now, mode);
    if (next) {
      const buckets = slot && slot.fullAt > now ? slot.buckets : [];
      let fullAt = slot && slot.fullAt > now ? slot.fullAt : now;
      specs.forEach((spec, i) => {
        buckets[bucketIndex(spec)] = next[i];
        fullAt = Math.max(fullAt, now + (result.buckets[i]?.resetMs ?? 0));
      });
      // Re-insert: Map order is the LRU order.
      this.#slots.delete(principal);
      this.#slots.set(principal, { buckets, fullAt });
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

function bucketIndex(spec: BucketSpec): number {
  return spec.name === 'r' ? 0 : 1;
}
