/**
 * The limits a level of the tenancy tree carries (DESIGN §7): organization → team → key → end user. Each
 * may have daily, monthly and total USD budgets, a requests-per-minute and a tokens-per-minute limit and a
 * list of allowed models; a request is admitted only if every level it belongs to admits it. Pure types
 * and helpers: no store, no Fastify (the admin schemas are in `schemas.ts`).
 */

/** The four levels, as `error.param` of a 429 names them. */
export type LevelName = 'org' | 'team' | 'key' | 'user';

/** Limits of one level; null = no limit at that level. */
export interface LevelLimits {
  readonly dailyUsd: number | null;
  readonly monthlyUsd: number | null;
  readonly totalUsd: number | null;
  readonly rpm: number | null;
  readonly tpm: number | null;
}

/** One level a request belongs to, with its id (org, team or key id, or the end user's name). */
export interface Level {
  readonly level: LevelName;
  readonly id: string;
  readonly limits: LevelLimits;
}

/** The limits of each end user (stored as JSON in snake_case: `EndUserLimitsJson`). */
export type EndUserLimits = LevelLimits;

/** The stored (and admin API) form of limits. */
export interface LimitsJson {
  daily_budget_usd?: number | null;
  monthly_budget_usd?: number | null;
  total_budget_usd?: number | null;
  rpm_limit?: number | null;
  tpm_limit?: number | null;
}

export const NO_LIMITS: LevelLimits = Object.freeze({
  dailyUsd: null,
  monthlyUsd: null,
  totalUsd: null,
  rpm: null,
  tpm: null,
});

/** Whether any limit is set. */
export function hasLimits(l: LevelLimits): boolean {
  return (
    l.dailyUsd !== null || l.monthlyUsd !== null || l.totalUsd !== null || l.rpm !== null || l.tpm !== null
  );
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** Limits from a stored row or JSON object (NUMERIC columns arrive as strings). */
export function limitsOf(row: {
  daily_budget_usd?: unknown;
  monthly_budget_usd?: unknown;
  total_budget_usd?: unknown;
  rpm_limit?: unknown;
  tpm_limit?: unknown;
}): LevelLimits {
  return {
    dailyUsd: num(row.daily_budget_usd),
    monthlyUsd: num(row.monthly_budget_usd),
    totalUsd: num(row.total_budget_usd),
    rpm: num(row.rpm_limit),
    tpm: num(row.tpm_limit),
  };
}

/** The JSON form of limits (admin output, stored end-user limits). */
export function limitsJson(l: LevelLimits): Required<LimitsJson> {
  return {
    daily_budget_usd: l.dailyUsd,
    monthly_budget_usd: l.monthlyUsd,
    total_budget_usd: l.totalUsd,
    rpm_limit: l.rpm,
    tpm_limit: l.tpm,
  };
}

/** Stored end-user limits (JSON text); null when absent or malformed (= inherited). */
export function parseEndUserLimits(text: string | null | undefined): EndUserLimits | null {
  if (!text) return null;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? limitsOf(value as LimitsJson) : null;
  } catch {
    return null;
  }
}

/** Stored metadata (JSON object of strings); `{}` when malformed. */
export function parseMetadata(text: string | null | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(
      Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return {};
  }
}

/**
 * The models a request may use given every level's list (`[]` = no restriction at that level): the
 * intersection of the restricted ones, null when none restricts.
 */
export function intersectModels(lists: ReadonlyArray<readonly string[]>): ReadonlySet<string> | null {
  let allowed: Set<string> | null = null;
  for (const list of lists) {
    if (list.length === 0) continue;
    allowed = allowed === null ? new Set(list) : new Set(list.filter((m) => (allowed as Set<string>).has(m)));
  }
  return allowed;
}

/**
 * The Redis hash tag of everything one request's admission touches (budget counters and token buckets):
 * `o:<org>` in an organization, else `t:<team>` in a team, else `k:<key>` for a key that names its end
 * users, else the key's user (one key has one user: today's tag). One tag per request keeps each admission
 * script in one Redis Cluster slot (decision 0101).
 */
export function hashTagOf(p: {
  orgId?: string | null;
  teamId?: string | null;
  keyId: string | null;
  namesEndUsers?: boolean;
  userId: string;
}): string {
  if (p.orgId) return `o:${p.orgId}`;
  if (p.teamId) return `t:${p.teamId}`;
  if (p.keyId && p.namesEndUsers) return `k:${p.keyId}`;
  return p.userId;
}
