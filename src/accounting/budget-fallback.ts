/**
 * Budgets while Redis is unavailable (DESIGN §7, decision 0087). Budgets are never switched off: whenever
 * Redis is skipped (breaker open) or a call fails, this instance decides alone, against
 *
 *   the last spend it saw in Redis for that counter (every Redis reply refreshes it; 0 if never seen)
 *   + a per-instance share of what was left: `budgets.outage_share` × (limit − last known spend).
 *
 * Reservations and settlements made meanwhile are kept per counter, and added to Redis once it answers
 * again (so no spend is lost). A counter a restarted, empty Redis no longer holds is left to the seeding from
 * the usage rollups, which hold every instance's spend before and during the outage (`seeded`), or, without
 * a usage database, recreated from the last value this instance saw. The bound this gives, per counter and
 * outage, with N instances: spend ≤ S + N × share × (limit − S) for last-known spend S (fresh knowledge),
 * and never more than N × share × limit above the spend Redis held (a counter an instance had never seen).
 * With share ≤ 1/N nothing is overspent beyond what an instance's stale view of S allows.
 *
 * Memory is bounded: at most `maxEntries` known values and local counters (oldest dropped first; expired
 * counters dropped when met).
 *
 * @example
 * const store = new FallbackBudgetStore({ redis, outageShare: 0.1, metrics, logger });
 */
import type { RedisStore } from '../stores/redis.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type BudgetCounter, type BudgetStore, RedisBudgetStore } from './budget-store.js';

const DAY_MS = 86_400_000;

interface LocalCounter {
  counter: BudgetCounter;
  /** Micro-dollars this instance may add during the outage. */
  allowance: number;
  /** Net micro-dollars reserved and settled here that Redis has not been told yet. */
  local: number;
}

export interface FallbackBudgetStoreOptions {
  redis: Pick<RedisStore, 'client' | 'run' | 'available' | 'failed' | 'onBreakerChange'>;
  /** Share of a counter's remaining budget one instance may spend while Redis is unavailable, in [0, 1]. */
  outageShare: number;
  metrics: Metrics;
  logger: Logger;
  /** Wall-clock ms (for syncs started by a breaker change rather than a request). */
  now: () => number;
  /**
   * Counters Redis lost are seeded from the usage rollups (budget-seed.ts): the outage spend of a counter
   * Redis no longer holds is then left to the seeding (the rollups hold it, with the spend before the
   * outage) instead of recreating the counter from this instance's last view of it.
   */
  seeded?: boolean;
  maxEntries?: number;
}

export class FallbackBudgetStore implements BudgetStore {
  readonly #o: FallbackBudgetStoreOptions;
  readonly #redis: RedisBudgetStore;
  readonly #known = new Map<string, number>();
  readonly #local = new Map<string, LocalCounter>();
  readonly #max: number;
  #syncing: Promise<void> | null = null;

  constructor(options: FallbackBudgetStoreOptions) {
    this.#o = options;
    this.#max = options.maxEntries ?? 100_000;
    this.#redis = new RedisBudgetStore(options.redis, (key, value) => this.#remember(key, value));
    options.redis.onBreakerChange((state) => {
      if (state === 'closed') this.#startSync();
    });
  }

  /** Local (outage) counters not yet added to Redis. */
  get pending(): number {
    return this.#local.size;
  }

  async reserve(counters: readonly BudgetCounter[], amountMicros: number, now: number): Promise<number> {
    if (this.#o.redis.available()) {
      try {
        const refused = await this.#redis.reserve(counters, amountMicros, now);
        if (this.#local.size > 0) this.#startSync();
        return refused;
      } catch (err) {
        this.#o.redis.failed('budget.reserve', err);
      }
    } else {
      this.#o.redis.failed('budget.reserve', SKIPPED);
    }
    const locals = counters.map((c) => this.#localOf(c, now));
    const refused = locals.findIndex((l) => l.local + amountMicros > l.allowance) + 1;
    if (refused === 0) for (const l of locals) l.local += amountMicros;
    this.#o.metrics.redisFallback.inc({ feature: 'budgets', result: refused === 0 ? 'allowed' : 'refused' });
    return refused;
  }

  async adjust(counters: readonly BudgetCounter[], deltaMicros: number, now: number): Promise<void> {
    if (deltaMicros === 0) return;
    if (this.#o.redis.available()) {
      try {
        await this.#redis.adjust(counters, deltaMicros);
        return;
      } catch (err) {
        this.#o.redis.failed('budget.settle', err);
      }
    }
    // Settled here, told to Redis later: a reservation made in Redis before the outage and settled during
    // it still reaches Redis (a refund included).
    for (const c of counters) this.#localOf(c, now).local += deltaMicros;
  }

  /** Seeds in Redis (budget-seed.ts); rejects while Redis is unavailable (the caller goes on unseeded). */
  async seed(counter: BudgetCounter, micros: number, now: number): Promise<void> {
    if (!this.#o.redis.available()) throw SKIPPED;
    await this.#redis.seed(counter, micros, now);
  }

  /** Redis' value plus what this instance spent during an outage and has not synced yet. */
  async read(key: string, now: number): Promise<number> {
    const local = this.#local.get(key);
    const pending = local && local.counter.periodEndsAt + DAY_MS > now ? local.local : 0;
    try {
      return (await this.#redis.read(key)) + pending;
    } catch {
      return (this.#known.get(key) ?? 0) + pending;
    }
  }

  /** Adds every local counter to Redis (also started by itself when the breaker closes). */
  sync(): Promise<void> {
    this.#startSync();
    return this.#syncing ?? Promise.resolve();
  }

  #startSync(): void {
    if (this.#syncing || this.#local.size === 0) return;
    this.#syncing = this.#sync().finally(() => {
      this.#syncing = null;
    });
  }

  async #sync(): Promise<void> {
    const now = this.#o.now();
    let synced = 0;
    let micros = 0;
    for (const [key, l] of [...this.#local]) {
      if (l.counter.periodEndsAt + DAY_MS <= now || l.local === 0) {
        this.#local.delete(key);
        continue;
      }
      try {
        // A restarted, empty Redis lost the spend before the outage too. With seeding, the counter stays
        // missing and the next request seeds it from the rollups (every instance's spend, before and during
        // the outage; a counter recreated here would exist, and seeding never runs for it). Without, it is
        // recreated from the last value seen here, the best this instance knows.
        const base = this.#o.seeded === true ? null : (this.#known.get(key) ?? 0);
        await this.#redis.add(l.counter, l.local, now, base);
      } catch (err) {
        // Still unavailable: kept for the next time Redis answers.
        this.#o.redis.failed('budget.sync', err);
        break;
      }
      this.#local.delete(key);
      synced++;
      micros += l.local;
    }
    if (synced === 0) return;
    this.#o.metrics.redisFallback.inc({ feature: 'budgets', result: 'synced' }, synced);
    this.#o.logger.info(
      { event: 'budget.outage_synced', counters: synced, usd: micros / 1e6, left: this.#local.size },
      'budget spend made while Redis was unavailable added to Redis',
    );
  }

  #localOf(c: BudgetCounter, now: number): LocalCounter {
    const existing = this.#local.get(c.key);
    if (existing && existing.counter.periodEndsAt + DAY_MS > now) return existing;
    const spent = this.#known.get(c.key) ?? 0;
    const created: LocalCounter = {
      counter: c,
      allowance: Math.floor(this.#o.outageShare * Math.max(0, c.limitMicros - spent)),
      local: 0,
    };
    this.#local.set(c.key, created);
    if (this.#local.size > this.#max) this.#dropOldest(this.#local);
    return created;
  }

  #remember(key: string, value: number): void {
    // Re-insert: Map order is the age order.
    this.#known.delete(key);
    this.#known.set(key, value);
    if (this.#known.size > this.#max) this.#dropOldest(this.#known);
  }

  #dropOldest(map: Map<string, unknown>): void {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}

const SKIPPED = new Error('Redis skipped (breaker open)');
