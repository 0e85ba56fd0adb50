/**
 * Budget counters for escrow (DESIGN §7): each counter holds the micro-dollars spent plus those reserved by
 * requests in flight, for one principal and one period. `reserve` adds an amount to every counter of a
 * request only if none would pass its limit (all or nothing, atomically); `adjust` moves counters by the
 * difference between the real cost and the reservation once the request ended.
 *
 * Redis backend: one Lua script per operation; all counters of a request share the hash tag of its user
 * (`budget:{<user>}:…`, a key's counters included — a key belongs to one user), so each script touches a
 * single slot (Cluster-ready). Counters expire a day after their period ends.
 * Memory backend: the same semantics in one process (no Redis configured).
 */
import type { Redis } from 'ioredis';

export interface BudgetCounter {
  /** Full key (prefix included). */
  readonly key: string;
  /** Limit in micro-dollars. */
  readonly limitMicros: number;
  /** Epoch ms when the counter's period ends (the counter is dropped a day later). */
  readonly periodEndsAt: number;
}

/** 0 = reserved; otherwise the 1-based index of the first counter that would pass its limit. */
export type ReserveResult = number;

export interface BudgetStore {
  reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<ReserveResult>;
  adjust(counters: readonly BudgetCounter[], deltaMicros: number, now: number): Promise<void>;
  /**
   * Current value of a counter (micro-dollars spent + reserved) at `now` (epoch ms, like `reserve`); tests
   * and admin views.
   */
  read(key: string, now: number): Promise<number>;
}

const DAY_MS = 86_400_000;

const RESERVE_LUA = `
local amount = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local current = tonumber(redis.call('GET', KEYS[i]) or '0')
  if current + amount > tonumber(ARGV[1 + i]) then return i end
end
for i = 1, n do
  redis.call('INCRBY', KEYS[i], amount)
  redis.call('PEXPIRE', KEYS[i], ARGV[1 + n + i])
end
return 0
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

type BudgetCommands = {
  llmgwBudgetReserve(...args: Array<string | number>): Promise<number>;
  llmgwBudgetAdjust(...args: Array<string | number>): Promise<number>;
};

/** Budget counters in Redis (shared by every instance). */
export class RedisBudgetStore implements BudgetStore {
  readonly #client: Redis & BudgetCommands;

  constructor(client: Redis) {
    if (!('llmgwBudgetReserve' in client)) {
      client.defineCommand('llmgwBudgetReserve', { lua: RESERVE_LUA });
      client.defineCommand('llmgwBudgetAdjust', { lua: ADJUST_LUA });
    }
    this.#client = client as Redis & BudgetCommands;
  }

  async reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<number> {
    const args: Array<string | number> = [counters.length, ...counters.map((c) => c.key), amountMicros];
    for (const c of counters) args.push(c.limitMicros);
    // Whole milliseconds: PEXPIRE refuses a fraction (a clock with sub-millisecond wall time).
    for (const c of counters) args.push(Math.max(1, Math.ceil(c.periodEndsAt + DAY_MS - now)));
    return Number(await this.#client.llmgwBudgetReserve(...args));
  }

  async adjust(counters: readonly BudgetCounter[], deltaMicros: number): Promise<void> {
    if (deltaMicros === 0) return;
    await this.#client.llmgwBudgetAdjust(counters.length, ...counters.map((c) => c.key), deltaMicros);
  }

  /** Redis expires counters itself: no `now` needed. */
  async read(key: string): Promise<number> {
    return Number((await this.#client.get(key)) ?? 0);
  }
}

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

  #prune(now: number): void {
    for (const [key, entry] of this.#counters) if (entry.expiresAt <= now) this.#counters.delete(key);
    // Still full: drop the oldest entries (insertion order) rather than grow without bound.
    for (const key of this.#counters.keys()) {
      if (this.#counters.size < this.#maxEntries) break;
      this.#counters.delete(key);
    }
  }
}
