/**
 * How a key is shown (admin API, CLI) and read back from its row: snake_case, never the hash or the
 * secret; the JSON columns parsed defensively (malformed allowed models mean "no model", never "every").
 */
import type { Selectable } from 'kysely';
import type { ApiKeyTable } from '../stores/schema.js';
import {
  type LevelLimits,
  limitsJson,
  limitsOf,
  NO_LIMITS,
  parseEndUserLimits,
  parseMetadata,
} from '../tenancy/limits.js';

export type ApiKeyRow = Selectable<ApiKeyTable>;

export type KeyRole = 'user' | 'team_admin' | 'org_admin';

/** A key as the admin API and CLI show it (snake_case, never the hash or the secret). */
export interface KeyView {
  id: string;
  name: string;
  key_prefix: string;
  user_id: string | null;
  team_id: string | null;
  org_id: string | null;
  role: KeyRole;
  tier: string;
  allowed_models: string[];
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  total_budget_usd: number | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  allow_end_users: boolean;
  end_user_limits: ReturnType<typeof limitsJson> | null;
  metadata: Record<string, string>;
  expires_at: string | null;
  guardrails: string[];
  revoked_at: string | null;
  rotated_from: string | null;
  last_used_at: string | null;
  created_at: string;
}

export function toDate(value: Date | string | null): Date | null {
  return value === null ? null : value instanceof Date ? value : new Date(value);
}

export function toNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** Parses the stored allowed-models JSON; anything malformed means "no model" rather than "every model". */
export function parseModels(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : ['\u0000'];
  } catch {
    return ['\u0000'];
  }
}

/** Parses the stored guardrail policy names (JSON array); a row from before migration 0005 has none. */
export function parseNames(text: string | null | undefined): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : [];
  } catch {
    return [];
  }
}

/** The role stored on a row (anything unknown is the least privileged). */
export function roleOf(row: Pick<ApiKeyRow, 'role'>): KeyRole {
  return row.role === 'org_admin' || row.role === 'team_admin' ? row.role : 'user';
}

/** The key's own limits (its level). */
export function keyLimits(row: ApiKeyRow): LevelLimits {
  return row.role === undefined ? NO_LIMITS : limitsOf(row);
}

export function toView(row: ApiKeyRow): KeyView {
  const iso = (v: Date | string | null) => toDate(v)?.toISOString() ?? null;
  const endUsers = parseEndUserLimits(row.end_user_limits);
  return {
    id: row.id,
    name: row.name,
    key_prefix: row.key_prefix,
    user_id: row.user_id,
    team_id: row.team_id ?? null,
    org_id: row.org_id ?? null,
    role: roleOf(row),
    tier: row.tier,
    allowed_models: parseModels(row.allowed_models),
    daily_budget_usd: toNumber(row.daily_budget_usd),
    monthly_budget_usd: toNumber(row.monthly_budget_usd),
    total_budget_usd: toNumber(row.total_budget_usd ?? null),
    rpm_limit: row.rpm_limit ?? null,
    tpm_limit: row.tpm_limit ?? null,
    allow_end_users: row.allow_end_users ?? false,
    end_user_limits: endUsers ? limitsJson(endUsers) : null,
    metadata: parseMetadata(row.metadata),
    expires_at: iso(row.expires_at),
    guardrails: parseNames(row.guardrails),
    revoked_at: iso(row.revoked_at),
    rotated_from: row.rotated_from,
    last_used_at: iso(row.last_used_at),
    created_at: iso(row.created_at) ?? '',
  };
}

/** Where a key sits in the tree (its audit entries' place). */
export function placeOf(row: Pick<ApiKeyRow, 'org_id' | 'team_id'>): {
  orgId: string | null;
  teamId: string | null;
} {
  return { orgId: row.org_id ?? null, teamId: row.team_id ?? null };
}
