/**
 * Token-bucket math shared by both backends (the Redis Lua script mirrors it line by line).
 *
 * A bucket holds up to `capacity` tokens and gains `ratePerMs` tokens per millisecond. `take` removes `cost`
 * tokens from every bucket of a principal at once, or from none (all-or-nothing). `force` always removes
 * (a negative cost refunds, never above capacity): the token bucket is settled with the real usage that way.
 */

/** One bucket of a principal (requests, or LLM tokens per minute). */
export interface BucketSpec {
  /**
   * Bucket name within the principal's hash tag: `r` (requests) or `t` (tokens) of the tier, or
   * `<level>:<id>:r|t` of a tenancy level (`org:org_1:r`, DESIGN §7), or `u:<user>:r|t` for the tier
   * bucket of a user under an org, team or key tag.
   */
  readonly name: string;
  /** The tenancy level the bucket enforces (absent = the tier's bucket): named in a 429's `param`. */
  readonly level?: 'org' | 'team' | 'key' | 'user';
  readonly ratePerMs: number;
  readonly capacity: number;
  readonly cost: number;
}

export interface BucketState {
  /** Tokens left after this call (may be negative after a forced charge). */
  tokens: number;
  /** When denied: ms until `cost` tokens are there again. 0 when allowed. */
  retryAfterMs: number;
  /** ms until the bucket is full again. */
  resetMs: number;
}

export interface TakeResult {
  allowed: boolean;
  buckets: BucketState[];
}

export type TakeMode = 'take' | 'force' | 'peek';

/** A stored bucket: tokens at time `ts` (ms). Absent = full. */
export interface StoredBucket {
  tokens: number;
  ts: number;
}

/** Tokens in a bucket at `now`, after refilling since its last update. */
export function refill(stored: StoredBucket | undefined, now: number, spec: BucketSpec): number {
  if (!stored) return spec.capacity;
  const elapsed = Math.max(0, now - stored.ts);
  return Math.min(spec.capacity, stored.tokens + elapsed * spec.ratePerMs);
}

/**
 * Applies one call to the buckets' stored states; returns the result and the states to store (null when
 * nothing changes).
 */
export function takeAll(
  stored: Array<StoredBucket | undefined>,
  specs: readonly BucketSpec[],
  now: number,
  mode: TakeMode,
): { result: TakeResult; next: StoredBucket[] | null } {
  const tokens = specs.map((spec, i) => refill(stored[i], now, spec));
  const allowed = mode !== 'take' || specs.every((spec, i) => (tokens[i] as number) >= spec.cost);
  const write = mode !== 'peek' && allowed;
  const buckets = specs.map((spec, i) => {
    let left = tokens[i] as number;
    if (write) left = Math.min(spec.capacity, left - spec.cost);
    return {
      tokens: left,
      retryAfterMs: allowed ? 0 : Math.max(1, Math.ceil(Math.max(0, spec.cost - left) / spec.ratePerMs)),
      resetMs: Math.max(0, Math.ceil((spec.capacity - left) / spec.ratePerMs)),
    };
  });
  return {
    result: { allowed, buckets },
    next: write ? buckets.map((b) => ({ tokens: b.tokens, ts: now })) : null,
  };
}

/** Where buckets live: process memory or Redis. */
export interface RateLimiter {
  readonly backend: 'memory' | 'redis';
  /** Applies `mode` to the principal's buckets atomically. May reject (Redis down or slow). */
  take(principal: string, specs: readonly BucketSpec[], mode: TakeMode): Promise<TakeResult>;
  close?(): Promise<void>;
}

/**
 * A wait as OpenAI writes it in `x-ratelimit-reset-*` (Go's duration format): `0s`, `250ms`, `1.5s`, `6m0s`,
 * `1h0m0s`; whole milliseconds, rounded up.
 */
export function resetDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return '0s';
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const seconds = `${(total % 60_000) / 1000}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}
