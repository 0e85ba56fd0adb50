/**
 * Budget counters for escrow (DESIGN §7): each counter holds the micro-dollars spent plus those reserved by
 * requests in flight, for one principal and one period. `reserve` adds an amount to every counter of a
 * request only if none would pass its limit (all or nothing, atomically); `adjust` moves counters by the
 * difference between the real cost and the reservation once the request ended.
 *
 * Redis backend: one Lua script per operation; all counters of a request share the hash tag of its user
 * (`budget:{<user>}:…`, a key's counters included — a key belongs to one user), so each script touches a
 * single slot (Cluster-ready). Counters expire a day after their period ends, never in under 25 h (under
 * `maxmemory-policy volatile-ttl` cache entries, which live at most a day, go first).
 * Every call goes through the Redis breaker (`RedisStore.run`); while Redis is unavailable the
 * `FallbackBudgetStore` (budget-fallback.ts) decides per instance.
 * Memory backend: the same semantics in one process (no Redis configured).
 */
import type { RedisStore } from '../stores/redis.js';

export interface BudgetCounter {
  /** Full key (prefix included). */
  readonly key: string;
  /** Limit in micro-dollars. */
  readonly limitMicros: number;
  /** Epoch ms when the counter's period ends (the counter is dropped a day later). */
  readonly periodEndsAt: number;
  /**
   * Seed this counter if the store does not hold it (budget-seed.ts): `reserve` then reserves nothing
   * and answers which counters are missing.
   */
  readonly seed?: boolean;
}

/**
 * 0 = reserved; > 0: the 1-based index of the first counter that would pass its limit; < 0: nothing
 * reserved, counters flagged `seed` are missing — the negated bit mask of their indexes (bit i−1 for the
 * i-th counter; see `missingCounters`).
 */
export type ReserveResult = number;

/** The 0-based indexes of the missing counters a negative `ReserveResult` names. */
export function missingCounters(result: ReserveResult): number[] {
  const out: number[] = [];
  for (let mask = -result, i = 0; mask > 0; mask = Math.floor(mask / 2), i++) if (mask % 2 === 1) out.push(i);
  return out;
}

export interface BudgetStore {
  reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<ReserveResult>;
  /** `reserve`, answered at once (set by a store that holds its counters in this process). */
  reserveSync?(counters: readonly BudgetCounter[], amountMicros: number, now: number): ReserveResult;
  adjust(counters: readonly BudgetCounter[], deltaMicros: number, now: number): Promise<void>;
  /**
   * Current value of a counter (micro-dollars spent + reserved) at `now` (epoch ms, like `reserve`); tests
   * and admin views.
   */
  read(key: string, now: number): Promise<number>;
  /** Sets a counter to `micros` unless the store holds it already (seeding; budget-seed.ts). */
  seed(counter: BudgetCounter, micros: number, now: number): Promise<void>;
}

const DAY_MS = 86_400_000;

/**
 * Returns {refused index or 0, value of each counter after the call}, or {-mask} when counters flagged for
 * seeding (ARGV[1 + 2n + i] = '1') are missing.
 */
const RESERVE_LUA = `
local amount = tonumber(ARGV[1])
local n = #KEYS
local missing = 0
for i = n, 1, -1 do
  missing = missing * 2
  if ARGV[1 + 2 * n + i] == '1' and redis.call('EXISTS', KEYS[i]) == 0 then missing = missing + 1 end
end
if missing > 0 then return { -missing } end
local values = {}
local refused = 0
for i = 1, n do
  values[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if refused == 0 and values[i] + amount > tonumber(ARGV[1 + i]) then refused = i end
end
if refused == 0 then
  for i = 1, n do
    values[i] = redis.call('INCRBY', KEYS[i], amount)
    redis.call('PEXPIRE', KEYS[i], ARGV[1 + n + i])
  end
end
local out = { refused }
for i = 1, n do out[#out + 1] = values[i] end
return out
`;

const ADJUST_LUA = `
local delta = tonumber(ARGV[1])
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local value = redis.call('INCRBY', KEYS[i], delta)
    if value < 0 then redis.call('SET', KEYS[i], 0, 'KEEPTTL') end
  end
end
return 0
`;

/**
 * Adds spend made while Redis was unavailable (KEYS[1]; ARGV: delta, TTL ms, base or ''). Never goes below
 * zero. A counter Redis does not hold (it restarted empty) is created from `base` — the last value the
 * instance saw before the outage — plus the delta; with no base (`''`: the counter is seeded from the usage
 * rollups instead, which hold the spend before and during the outage) it is left missing and -1 returned.
 */
const ADD_LUA = `
local value
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[3] == '' then return -1 end
  value = math.max(0, tonumber(ARGV[3]) + tonumber(ARGV[1]))
  redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
  return value
end
value = redis.call('INCRBY', KEYS[1], tonumber(ARGV[1]))
if value < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL'); value = 0 end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value
`;

type BudgetCommands = {
  llmgwBudgetReserve(...args: Array<string | number>): Promise<number[]>;
  llmgwBudgetAdjust(...args: Array<string | number>): Promise<number>;
  llmgwBudgetAdd(key: string, delta: number, ttlMs: number, base: number | ''): Promise<number>;
};

/** Budget counters in Redis (shared by every instance). Calls reject when Redis fails or is skipped. */
export class RedisBudgetStore implements BudgetStore {
  readonly #redis: Pick<RedisStore, 'client' | 'run'>;
  readonly #observe: (key: string, value: number) => void;

  /** `observe` is told every counter value Redis answers with (the fallback's "last known spend"). */
  constructor(
    redis: Pick<RedisStore, 'client' | 'run'>,
    observe: (key: string, value: number) => void = () => {},
  ) {
    const client = redis.client;
    if (!('llmgwBudgetReserve' in client)) {
      client.defineCommand('llmgwBudgetReserve', { lua: RESERVE_LUA });
      client.defineCommand('llmgwBudgetAdjust', { lua: ADJUST_LUA });
      client.defineCommand('llmgwBudgetAdd', { numberOfKeys: 1, lua: ADD_LUA });
    }
    this.#redis = redis;
    this.#observe = observe;
  }

  #commands(client: unknown): BudgetCommands {
    return client as BudgetCommands;
  }

  async reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<number> {
    const args: Array<string | number> = [counters.length, ...counters.map((c) => c.key), amountMicros];
    for (const c of counters) args.push(c.limitMicros);
    for (const c of counters) args.push(ttlMs(c, now));
    for (const c of counters) args.push(c.seed ? 1 : 0);
    const out = await this.#redis.run((client) => this.#commands(client).llmgwBudgetReserve(...args));
    if (Number(out[0]) < 0) return Number(out[0]);
    for (const [i, c] of counters.entries()) this.#observe(c.key, Number(out[i + 1] ?? 0));
    return Number(out[0]);
  }

  async adjust(counters: readonly BudgetCounter[], deltaMicros: number): Promise<void> {
    if (deltaMicros === 0) return;
    const keys = counters.map((c) => c.key);
    await this.#redis.run((client) =>
      this.#commands(client).llmgwBudgetAdjust(counters.length, ...keys, deltaMicros),
    );
  }

  /**
   * Adds `deltaMicros` to one counter (outage spend synced back). If Redis lost it: creates it at
   * `baseMicros + deltaMicros` (`baseMicros`: the counter's value before the outage, as last seen), or with
   * `baseMicros` null leaves it missing (for seeding from the rollups) and answers -1.
   */
  async add(
    counter: BudgetCounter,
    deltaMicros: number,
    now: number,
    baseMicros: number | null = 0,
  ): Promise<number> {
    const value = Number(
      await this.#redis.run((client) =>
        this.#commands(client).llmgwBudgetAdd(
          counter.key,
          deltaMicros,
          ttlMs(counter, now),
          baseMicros ?? '',
        ),
      ),
    );
    if (value >= 0) this.#observe(counter.key, value);
    return value;
  }

  async seed(counter: BudgetCounter, micros: number, now: number): Promise<void> {
    await this.#redis.run((client) => client.set(counter.key, micros, 'PX', ttlMs(counter, now), 'NX'));
  }

  /** Redis expires counters itself: no `now` needed. */
  async read(key: string): Promise<number> {
    return Number((await this.#redis.run((client) => client.get(key))) ?? 0);
  }
}

/**
 * A counter lives until a day after its period ends, and at least 25 h: always longer than a cache entry
 * (24 h at most by default), so `volatile-ttl` evicts the cache first (decision 0086).
 */
/** Whole milliseconds: PEXPIRE refuses a fraction (a clock with sub-millisecond wall time). */
function ttlMs(c: BudgetCounter, now: number): number {
  return Math.max(MIN_TTL_MS, Math.ceil(c.periodEndsAt + DAY_MS - now));
}

const MIN_TTL_MS = 25 * 3_600_000;

/** Budget counters in process memory (single instance). Bounded: expired counters are dropped. */
export class MemoryBudgetStore implements BudgetStore {
  readonly #counters = new Map<string, { value: number; expiresAt: number }>();
  readonly #maxEntries: number;

  constructor(maxEntries = 100_000) {
    this.#maxEntries = maxEntries;
  }

  #value(key: string, now: number): number {
    const entry = this.#counters.get(key);
    if (!entry) return 0;
    if (entry.expiresAt <= now) {
      this.#counters.delete(key);
      return 0;
    }
    return entry.value;
  }

  async reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<number> {
    return this.reserveSync(counters, amountMicros, now);
  }

  reserveSync(counters: readonly BudgetCounter[], amountMicros: number, now: number): number {
    let missing = 0;
    for (const [i, c] of counters.entries()) {
      if (c.seed && !this.#holds(c.key, now)) missing += 2 ** i;
    }
    if (missing > 0) return -missing;
    for (const [i, c] of counters.entries()) {
      if (this.#value(c.key, now) + amountMicros > c.limitMicros) return i + 1;
    }
    if (this.#counters.size >= this.#maxEntries) this.#prune(now);
    for (const c of counters) {
      this.#counters.set(c.key, {
        value: this.#value(c.key, now) + amountMicros,
        expiresAt: c.periodEndsAt + DAY_MS,
      });
    }
    return 0;
  }

  async adjust(counters: readonly BudgetCounter[], deltaMicros: number, now: number): Promise<void> {
    for (const c of counters) {
      const entry = this.#counters.get(c.key);
      if (entry && entry.expiresAt > now) entry.value = Math.max(0, entry.value + deltaMicros);
    }
  }

  async read(key: string, now: number): Promise<number> {
    return this.#value(key, now);
  }

  async seed(counter: BudgetCounter, micros: number, now: number): Promise<void> {
    if (this.#holds(counter.key, now)) return;
    if (this.#counters.size >= this.#maxEntries) this.#prune(now);
    this.#counters.set(counter.key, { value: micros, expiresAt: counter.periodEndsAt + DAY_MS });
  }

  #holds(key: string, now: number): boolean {
    this.#value(key, now); // drops the counter if expired
    return this.#counters.has(key);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#counters) if (entry.expiresAt <= now) this.#counters.delete(key);
    // Still full: drop the oldest entries (insertion order) rather than grow without bound.
    for (const key of this.#counters.keys()) {
      if (this.#counters.size < this.#maxEntries) break;
      this.#counters.delete(key);
    }
  }
}
