/**
 * Budget enforcement by escrow (DESIGN §7). `admit` reserves the request's worst-case cost — an upper bound
 * of its prompt tokens (UTF-8 bytes + framing: no tokenizer on the request path) plus its output limit
 * (max_completion_tokens, max_tokens, or `budgets.default_max_output_tokens`) times its choices (`n`), at
 * the highest price of the route's deployments — on every budget
 * that applies (user daily/monthly from config, key daily/monthly from the API key), all or nothing and
 * atomically in the budget store. A request that does not fit is refused with 429 `budget_exceeded` before
 * the cache or any provider is reached. The settle step settles the reservation to the request's cost as
 * the cost step computed it: every attempt the provider may bill included (retried, timed-out and aborted
 * calls at their estimate; docs/decisions/0082), 0 when nothing reached a provider. No database query runs
 * per request.
 *
 * Store failure (Redis down or slow): the request is let through without a reservation (fail open, like
 * the rate limiter), counted in `llm_dependency_errors_total{dependency="redis"}` and logged.
 */
import { type RequestContext, Slot } from '../core/context.js';
import { GatewayRateLimitError } from '../core/errors.js';
import { type SettleStep, type Stage, stage } from '../core/stage.js';
import type { ChatRequest, EmbeddingRequest } from '../providers/types.js';
import type { RedisStore } from '../stores/redis.js';
import { budgetBase } from '../stores/redis-keys.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { LevelName } from '../tenancy/limits.js';
import type { BudgetSeeder } from './budget-seed.js';
import { seedDays } from './budget-seed.js';
import { type BudgetCounter, type BudgetStore, missingCounters } from './budget-store.js';
import type { Accountant } from './cost.js';
import { type ModelPrice, microsOf } from './pricing.js';
import { promptTokensUpperBound, worstCaseOutputTokens } from './tokens.js';

export interface BudgetLimits {
  daily_usd?: number | null | undefined;
  monthly_usd?: number | null | undefined;
  /** Never resets (tenancy levels; DESIGN §7). */
  total_usd?: number | null | undefined;
}

/** A total budget's counter "period" ends at the end of year 9999: it never resets. */
export const TOTAL_PERIOD_END = Date.UTC(9999, 11, 31);

export interface BudgetSettings {
  default: BudgetLimits;
  users: Readonly<Record<string, BudgetLimits>>;
  default_max_output_tokens: number;
  unpriced_reservation_usd: number | null;
}

export interface BudgetHookDeps {
  settings: BudgetSettings;
  store: BudgetStore;
  accountant: Accountant;
  metrics: Metrics;
  logger: Logger;
  /** Set when the store is Redis: its bounded waits and failure accounting. */
  redis: RedisStore | null;
  keyPrefix: string;
  /** Wall-clock milliseconds (budget periods are UTC days and months). */
  now: () => number;
  /**
   * Seeds a counter the store does not hold from the usage rollups (budget-seed.ts, decision 0145); absent =
   * a lost counter starts at 0.
   */
  seeder?: BudgetSeeder | null;
  /** How long a request waits for seeding at most (ms, default 2000); then it goes on unseeded. */
  seedTimeoutMs?: number;
}

interface Applied {
  /** The tenancy level (DESIGN §7) whose budget this is: named in a refusal's `error.param`. */
  scope: LevelName;
  id: string;
  period: 'daily' | 'monthly' | 'total';
  usd: number;
  counter: BudgetCounter;
}

interface Reservation {
  counters: BudgetCounter[];
  micros: number;
}

const RESERVATION = new Slot<Reservation>('budgets.reservation');

const SCOPE_NAMES: Record<LevelName, string> = {
  org: 'organization',
  team: 'team',
  key: 'API key',
  user: 'user',
};

/** A UTC day and month, and when each ends. */
export interface Periods {
  day: string;
  dayEndsAt: number;
  month: string;
  monthEndsAt: number;
}

const DAY_MS = 86_400_000;

/** The UTC day and month of `now`, and when each ends. */
export function periodsOf(now: number): Periods {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const iso = d.toISOString();
  return {
    day: iso.slice(0, 10),
    dayEndsAt: Date.UTC(y, m, d.getUTCDate() + 1),
    month: iso.slice(0, 7),
    monthEndsAt: Date.UTC(y, m + 1, 1),
  };
}

/**
 * `periodsOf`, computed once per UTC day: the hot path asks for the periods on every request, and building
 * them (a Date and its ISO string) was ≈ 1 % of a request's CPU (docs/performance.md).
 *
 * @example
 * const periods = periodsCache();
 * periods(now).day; // '2026-12-04'
 */
export function periodsCache(): (now: number) => Periods {
  let last: Periods | null = null;
  return (now) => {
    if (last === null || now >= last.dayEndsAt || now < last.dayEndsAt - DAY_MS) last = periodsOf(now);
    return last;
  };
}

/**
 * The budgets that apply to a request, each with its counter: every tenancy level's (org, team, key, end
 * user; DESIGN §7) and the user's from the config. All counters of a request share one hash tag (the
 * principal's `tag`: `{o:<org>}`, `{t:<team>}`, `{k:<key>}`, else the user), so one script reserves on all
 * of them atomically in one Redis Cluster slot.
 */
export function applicableBudgets(
  ctx: RequestContext,
  settings: BudgetSettings,
  keyPrefix: string,
  now: number,
  periods: (now: number) => Periods = periodsOf,
): Applied[] {
  const principal = ctx.principal;
  if (!principal) return [];
  const userLimits = settings.users[principal.userId] ?? settings.default;
  const levels = principal.levels;
  // A principal without levels (config keys, older callers): the key's own budgets.
  const keyBudgets = !levels && principal.keyId ? principal.budgets : undefined;
  const hasLimit = (l: BudgetLimits | undefined) =>
    l != null && (l.daily_usd != null || l.monthly_usd != null || l.total_usd != null);
  const levelBudget = levels?.some(
    (l) => l.limits.dailyUsd !== null || l.limits.monthlyUsd !== null || l.limits.totalUsd !== null,
  );
  // The common case on the hot path: no budget applies, so no period or key is computed.
  if (
    !hasLimit(userLimits) &&
    !levelBudget &&
    !(keyBudgets && (keyBudgets.dailyUsd != null || keyBudgets.monthlyUsd != null))
  ) {
    return [];
  }
  const p = periods(now);
  const tag = principal.tag ?? principal.userId;
  const base = budgetBase(keyPrefix, tag);
  const applied: Applied[] = [];
  const add = (scope: LevelName, id: string, owner: string, limits: BudgetLimits | undefined) => {
    const periods = [
      ['daily', limits?.daily_usd, `${owner}:d:${p.day}`, p.dayEndsAt],
      ['monthly', limits?.monthly_usd, `${owner}:m:${p.month}`, p.monthEndsAt],
      ['total', limits?.total_usd, `${owner}:total`, TOTAL_PERIOD_END],
    ] as const;
    for (const [period, usd, key, periodEndsAt] of periods) {
      if (usd == null) continue;
      applied.push({
        scope,
        id,
        period,
        usd,
        counter: { key, limitMicros: Math.round(usd * 1e6), periodEndsAt },
      });
    }
  };
  for (const l of levels ?? []) {
    add(l.level, l.id, `${base}:${l.level}:${l.id}`, {
      daily_usd: l.limits.dailyUsd,
      monthly_usd: l.limits.monthlyUsd,
      total_usd: l.limits.totalUsd,
    });
  }
  // The config's budget of the user (under another tag than the user's own: per organization/team/key).
  add(
    'user',
    principal.userId,
    tag === principal.userId ? `${base}:user` : `${base}:u:${principal.userId}`,
    userLimits,
  );
  if (principal.keyId && keyBudgets) {
    const key = principal.lineageId ?? principal.keyId;
    add('key', key, `${base}:key:${key}`, {
      daily_usd: keyBudgets.dailyUsd,
      monthly_usd: keyBudgets.monthlyUsd,
    });
  }
  return applied;
}

/**
 * Worst-case cost of a request in micro-dollars; null when a deployment of its route is unpriced and no
 * `unpriced_reservation_usd` is configured (such requests are not held to budgets).
 */
export function worstCaseMicros(
  ctx: RequestContext,
  accountant: Accountant,
  settings: BudgetSettings,
): number | null {
  const price = accountant.worstPrice(ctx);
  const request = ctx.request;
  if (!price || !request) {
    return settings.unpriced_reservation_usd === null
      ? null
      : Math.round(settings.unpriced_reservation_usd * 1e6);
  }
  const maxOutput = worstCaseOutputTokens(request.body, settings.default_max_output_tokens);
  return reservationMicros(price, reservedPromptTokens(request.body), maxOutput);
}

/** Prompt tokens reserved for a request: an upper bound (its UTF-8 bytes + framing), see tokens.ts. */
export function reservedPromptTokens(body: ChatRequest | EmbeddingRequest): number {
  return promptTokensUpperBound(body);
}

/**
 * Micro-dollars reserved for `promptTokens` in and up to `maxOutput` out (every choice's), rounded up by
 * one so a priced model never reserves 0; capped at 2^53 − 1 (a `max_tokens` of 10^15 is refused, not
 * wrapped).
 */
export function reservationMicros(price: ModelPrice, promptTokens: number, maxOutput: number): number {
  const micros = microsOf(price, { prompt_tokens: promptTokens, completion_tokens: maxOutput }) + 1;
  return Math.min(Number.MAX_SAFE_INTEGER, micros);
}

/** The budget stages: `admit` reserves the worst case, `settle` adjusts it to the real cost. */
export function createBudgetStages(deps: BudgetHookDeps): { admit: Stage; settle: SettleStep } {
  const { store, redis } = deps;
  const periods = periodsCache();
  const bounded = <T>(call: Promise<T>, ms?: number): Promise<T> =>
    redis ? redis.withDeadline(call, ms) : call;

  const seeding = new Map<string, Promise<void>>();
  /** Seeds one missing counter (single-flight per counter on this instance); never rejects. */
  function seedOne(ctx: RequestContext, a: Applied, now: number): Promise<void> {
    const running = seeding.get(a.counter.key);
    if (running) return running;
    const seeder = deps.seeder as BudgetSeeder;
    const principal = ctx.principal;
    const perTag = principal?.tag != null && principal.tag !== principal.userId;
    const run = seeder({
      level: a.scope,
      id: a.id,
      ...seedDays(a.period, periodsOf(now).day),
      scope: perTag
        ? { orgId: principal.orgId, teamId: principal.teamId, keyId: principal.lineageId ?? principal.keyId }
        : {},
    })
      .then((micros) => store.seed(a.counter, micros, now))
      .catch((err: unknown) => {
        deps.logger.warn(
          { event: 'budget.seed_failed', err, counter: a.counter.key },
          'budget seeding failed',
        );
      })
      .finally(() => seeding.delete(a.counter.key));
    seeding.set(a.counter.key, run);
    return run;
  }

  /** Reserves; counters the store lost are seeded first, once (a second try does not ask again). */
  async function reserveSeeded(ctx: RequestContext, applied: Applied[], micros: number, now: number) {
    if (!deps.seeder)
      return store.reserve(
        applied.map((a) => a.counter),
        micros,
        now,
      );
    const flagged = applied.map((a) => ({ ...a.counter, seed: true }));
    const first = await store.reserve(flagged, micros, now);
    if (first >= 0) return first;
    const seeds = Promise.all(missingCounters(first).map((i) => seedOne(ctx, applied[i] as Applied, now)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, deps.seedTimeoutMs ?? 2000);
      timer.unref?.();
    });
    await Promise.race([seeds, timeout]).finally(() => clearTimeout(timer));
    return store.reserve(
      applied.map((a) => a.counter),
      micros,
      now,
    );
  }

  /** Fail open: a budget store outage must not stop traffic (counted and logged). */
  function failOpen(err: unknown): void {
    if (redis) redis.failed('budget.reserve', err);
    else deps.logger.warn({ event: 'budget.error', err }, 'budget reservation failed');
  }

  /**
   * Reserves the worst case. A promise only when the store answers asynchronously (Redis) or a counter must
   * be seeded first; the in-memory store answers at once, and then the request pays no promise here.
   */
  function reserve(ctx: RequestContext, applied: Applied[], now: number): Promise<void> | undefined {
    const micros = worstCaseMicros(ctx, deps.accountant, deps.settings);
    if (micros === null) return undefined;
    const counters = applied.map((a) => a.counter);
    if (store.reserveSync) {
      let first: number;
      try {
        const asked = deps.seeder ? applied.map((a) => ({ ...a.counter, seed: true })) : counters;
        first = store.reserveSync(asked, micros, now);
      } catch (err) {
        failOpen(err);
        return undefined;
      }
      // < 0: counters to seed first (nothing was reserved); the seeded path below asks again.
      if (first >= 0) {
        reserved(ctx, applied, counters, micros, now, first);
        return undefined;
      }
    }
    return bounded(reserveSeeded(ctx, applied, micros, now)).then(
      (refused) => reserved(ctx, applied, counters, micros, now, refused),
      failOpen,
    );
  }

  /** The store answered: 429 naming the first budget it would pass, else the reservation is kept. */
  function reserved(
    ctx: RequestContext,
    applied: Applied[],
    counters: BudgetCounter[],
    micros: number,
    now: number,
    refused: number,
  ): void {
    if (refused > 0) {
      const hit = applied[refused - 1] as Applied;
      deps.metrics.budgetExceeded.inc({ scope: hit.scope, period: hit.period });
      const who = `${SCOPE_NAMES[hit.scope]} "${hit.id}"`;
      const total = hit.period === 'total';
      const resets = total
        ? 'It does not reset (raise it with PATCH).'
        : `It resets at ${new Date(hit.counter.periodEndsAt).toISOString()}.`;
      throw new GatewayRateLimitError(
        `Budget exceeded: the ${hit.period} budget of $${hit.usd} for ${who} does not cover this request ` +
          `(up to $${(micros / 1e6).toFixed(6)}). ${resets}`,
        total ? 86_400_000 : Math.max(1000, hit.counter.periodEndsAt - now),
        'budget_exceeded',
        hit.scope,
      );
    }
    RESERVATION.set(ctx, { counters, micros });
  }

  const admit = stage('budgets', (ctx, next) => {
    const now = deps.now();
    const applied = applicableBudgets(ctx, deps.settings, deps.keyPrefix, now, periods);
    // The common case on the hot path: no budget applies, nothing to wait for.
    if (applied.length === 0) return next(ctx);
    const pending = reserve(ctx, applied, now);
    return pending ? pending.then(() => next(ctx)) : next(ctx);
  });

  const settle: SettleStep = {
    name: 'budgets',
    settle(ctx) {
      const reservation = RESERVATION.get(ctx);
      if (!reservation) return;
      let actual: number;
      if (ctx.costUsd !== null) actual = Math.round(ctx.costUsd * 1e6);
      else actual = ctx.usage ? reservation.micros : 0; // unpriced but billed: keep the reservation
      const delta = actual - reservation.micros;
      // Off the response path: the adjustment is not awaited.
      void bounded(store.adjust(reservation.counters, delta, deps.now()), 1_000).catch((err: unknown) => {
        if (redis) redis.failed('budget.settle', err);
        else deps.logger.warn({ event: 'budget.error', err }, 'budget settlement failed');
      });
    },
  };
  return { admit, settle };
}
