/**
 * Seeding budget counters from the usage rollups (DESIGN §7–§8, decision 0145). A budget counter lives in
 * Redis (or this process's memory); a Redis flushed or restarted without persistence, or a gateway
 * restarted on the memory store, would forget the spend so far — worst for a total budget, which never
 * resets. So a counter the budget store does not hold is seeded, before the request is admitted, with the
 * spend the rollups (`usage_daily_team`, `usage_daily_key`) hold for its level and period.
 *
 * No database query runs per request: the reserve script itself reports counters it does not hold (one
 * script, as before), and only then is the rollup read — once per counter and period (the counter then
 * exists until its period is over), single-flight per counter on this instance, and written with
 * "set if absent" so concurrent instances agree. Spend still in the usage writer's queue (not yet in the
 * rollups) when the counter was lost is not counted.
 *
 * @example
 * const seeder = rollupSeeder(() => deps.database());
 * await seeder({ level: 'team', id: 'team_1', from: '2026-12-01', to: '2026-12-31', scope: {} });
 */
import { sql } from 'kysely';
import type { Database } from '../stores/database.js';
import type { LevelName } from '../tenancy/limits.js';

/** Which spend a counter holds: one level's, over the UTC days `from`..`to` (inclusive; null = all). */
export interface SeedQuery {
  level: LevelName;
  id: string;
  from: string | null;
  to: string | null;
  /** For a user level: the organization, team or key its counters are kept under (end users are per tag). */
  scope: { orgId?: string | null; teamId?: string | null; keyId?: string | null };
}

/** The spend in micro-dollars the rollups hold for a query. Rejects when the database is not available. */
export type BudgetSeeder = (q: SeedQuery) => Promise<number>;

/** A seeder reading the rollup tables of the usage database. */
export function rollupSeeder(database: () => Database): BudgetSeeder {
  return async (q) => {
    const opened = database();
    if (!opened.isReady()) throw new Error('the usage database is not ready');
    const where = [];
    if (q.from !== null) where.push(sql`day >= ${q.from}::date`);
    if (q.to !== null) where.push(sql`day <= ${q.to}::date`);
    let table = 'usage_daily_team';
    if (q.level === 'org') where.push(sql`org_id = ${q.id}`);
    else if (q.level === 'team') where.push(sql`team_id = ${q.id}`);
    else {
      table = 'usage_daily_key';
      // A key's counters are its rotation chain's (decision 0209): the spend of every key in it.
      if (q.level === 'key') where.push(sql`api_key_id in (${lineageKeys(q.id)})`);
      else {
        where.push(sql`user_id = ${q.id}`);
        // End users are counted per organization, else team, else key (the counters' hash tag).
        if (q.scope.orgId) where.push(sql`org_id = ${q.scope.orgId}`);
        else if (q.scope.teamId) where.push(sql`team_id = ${q.scope.teamId}`);
        else if (q.scope.keyId) where.push(sql`api_key_id in (${lineageKeys(q.scope.keyId)})`);
      }
    }
    const result = await sql<{ cost: string | null }>`
      select coalesce(sum(cost_usd), 0) as cost from ${sql.table(table)}
      where ${sql.join(where, sql` and `)}`.execute(opened.db);
    return Math.round(Number(result.rows[0]?.cost ?? 0) * 1e6);
  };
}

/** The ids of the keys of a rotation chain (its first key's id: `lineage`). */
function lineageKeys(lineage: string) {
  return sql`select id from api_keys where id = ${lineage} or lineage_id = ${lineage}`;
}

/** The UTC days a counter's period covers: its day, its month so far, or (total) every day. */
export function seedDays(
  period: 'daily' | 'monthly' | 'total',
  day: string,
): { from: string | null; to: string | null } {
  if (period === 'daily') return { from: day, to: day };
  if (period === 'monthly') return { from: `${day.slice(0, 7)}-01`, to: day };
  return { from: null, to: null };
}
