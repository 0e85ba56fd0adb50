/**
 * A database key's principal with its tenancy levels (DESIGN §7): the organization, team and key it
 * belongs to with their limits, the models every level allows, whether (and with which limits) it names
 * end users, and the hash tag its counters share. Built by the key store at every refresh and whenever an
 * admin change is applied on this instance — never on the request path.
 */
import { type ApiKeyRow, keyLimits, parseModels, parseNames, roleOf, toNumber } from '../auth/key-view.js';
import type { Principal } from '../auth/principal.js';
import {
  type EndUserLimits,
  hashTagOf,
  hasLimits,
  intersectModels,
  type Level,
  limitsOf,
  NO_LIMITS,
  parseEndUserLimits,
} from './limits.js';
import type { OrgRow, TeamRow } from './repository.js';

/** The organizations and teams a key store knows. */
export interface Tree {
  readonly orgs: ReadonlyMap<string, OrgRow>;
  readonly teams: ReadonlyMap<string, TeamRow>;
}

export const EMPTY_TREE: Tree = { orgs: new Map(), teams: new Map() };

/** The principal of a database key. `endUserDefaults`: `tenancy.end_user` of the config. */
export function keyPrincipal(row: ApiKeyRow, tree: Tree, endUserDefaults: EndUserLimits | null): Principal {
  const team = row.team_id ? tree.teams.get(row.team_id) : undefined;
  const orgId = team?.org_id ?? row.org_id ?? null;
  const org = orgId ? tree.orgs.get(orgId) : undefined;
  const levels: Level[] = [];
  if (org && orgId) levels.push({ level: 'org', id: orgId, limits: limitsOf(org) });
  if (team && row.team_id) levels.push({ level: 'team', id: row.team_id, limits: limitsOf(team) });
  // Spend, limits and state are the rotation chain's, not one secret's (decision 0209).
  const lineage = row.lineage_id ?? row.id;
  levels.push({ level: 'key', id: lineage, limits: keyLimits(row) });
  const allowEndUsers = row.allow_end_users === true;
  const endUsers = allowEndUsers
    ? (parseEndUserLimits(row.end_user_limits) ??
      parseEndUserLimits(team?.end_user_limits) ??
      parseEndUserLimits(org?.end_user_limits) ??
      endUserDefaults ??
      NO_LIMITS)
    : null;
  const userId = row.user_id ?? `key:${lineage}`;
  return {
    userId,
    keyId: row.id,
    lineageId: lineage,
    tier: row.tier,
    allowedModels: intersectModels([
      parseModels(row.allowed_models),
      team ? parseModels(team.allowed_models) : [],
      org ? parseModels(org.allowed_models) : [],
    ]),
    teamId: row.team_id ?? null,
    orgId,
    // The organization's, the team's and the key's own policies (the global default is added by the stage).
    guardrails: levelGuardrails(org, team, row),
    // The key's own daily/monthly budgets (also in its level; budgets read `levels` when present).
    budgets: { dailyUsd: toNumber(row.daily_budget_usd), monthlyUsd: toNumber(row.monthly_budget_usd) },
    role: roleOf(row),
    levels: levels.filter((l) => hasLimits(l.limits)),
    endUsers,
    tag: hashTagOf({ orgId, teamId: row.team_id, keyId: lineage, namesEndUsers: allowEndUsers, userId }),
  };
}

/** The policy names of a key's levels, outermost first, each once. */
function levelGuardrails(
  org: OrgRow | undefined,
  team: TeamRow | undefined,
  row: ApiKeyRow,
): readonly string[] {
  const own = parseNames(row.guardrails);
  if (!org && !team) return own;
  const names = [...parseNames(org?.guardrails), ...parseNames(team?.guardrails), ...own];
  return names.filter((n, i) => names.indexOf(n) === i);
}
