/**
 * Day partitions of `usage_records` (migration 0007, decision 0105): created ahead of time, dropped after
 * the retention period. The same on PostgreSQL and PGlite.
 *
 * - A partition per UTC day, `usage_records_pYYYYMMDD`, for `[day, day + 1)`. `usage_records_default`
 *   catches a record whose day has no partition yet (an old spool file replayed, maintenance late), so a
 *   write never fails for want of a partition; creating that day's partition later moves those rows out.
 * - Creation and dropping take one transaction-scoped advisory lock, so instances doing maintenance at
 *   the same time wait for each other instead of failing.
 * - Retention drops whole partitions (no row-by-row delete, no bloat) and deletes the default partition's
 *   rows older than the cut-off. The rollups are kept: reports over older days still answer.
 */
import { type Kysely, sql } from 'kysely';
import { dayOf } from './usage-rollups.js';

const DAY_MS = 86_400_000;
/** Advisory lock key of partition maintenance (any constant; one per database). */
const LOCK_KEY = 7_250_107;
const NAME = /^usage_records_p(\d{4})(\d{2})(\d{2})$/;

/** `usage_records_p20260301` for `2026-03-01`. */
export function partitionName(day: string): string {
  return `usage_records_p${day.replaceAll('-', '')}`;
}

/** The days that have a partition, oldest first. */
export async function partitionDays<DB>(db: Kysely<DB>): Promise<string[]> {
  const result = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = 'usage_records'::regclass`.execute(db);
  const days: string[] = [];
  for (const { name } of result.rows) {
    const m = NAME.exec(name);
    if (m) days.push(`${m[1]}-${m[2]}-${m[3]}`);
  }
  return days.sort();
}

/**
 * Creates the partitions of `days` that do not exist yet (rows of those days waiting in the default
 * partition are moved into them). Returns the days created.
 */
export async function ensurePartitions<DB>(db: Kysely<DB>, days: readonly string[]): Promise<string[]> {
  if (days.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
    const existing = new Set(await partitionDays(trx));
    const created: string[] = [];
    for (const day of [...new Set(days)].sort()) {
      if (existing.has(day)) continue;
      const start = Date.parse(`${day}T00:00:00Z`);
      const from = sql.lit(new Date(start).toISOString());
      const to = sql.lit(new Date(start + DAY_MS).toISOString());
      const name = sql.table(partitionName(day));
      const waiting = await sql<{ n: number }>`
        select count(*)::int as n from usage_records_default
        where "timestamp" >= ${from} and "timestamp" < ${to}`.execute(trx);
      if ((waiting.rows[0]?.n ?? 0) === 0) {
        await sql`create table ${name} partition of usage_records for values from (${from}) to (${to})`.execute(
          trx,
        );
      } else {
        // Attaching checks the default partition holds no row of the range: move them first.
        await sql`create table ${name} (like usage_records including defaults)`.execute(trx);
        await sql`
          with moved as (delete from usage_records_default
            where "timestamp" >= ${from} and "timestamp" < ${to} returning *)
          insert into ${name} select * from moved`.execute(trx);
        await sql`alter table usage_records attach partition ${name} for values from (${from}) to (${to})`.execute(
          trx,
        );
      }
      created.push(day);
    }
    return created;
  });
}

/** The days from `today - behind` to `today + ahead` (UTC), for `ensurePartitions`. */
export function daysAround(nowMs: number, behind: number, ahead: number): string[] {
  const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const days: string[] = [];
  for (let d = -behind; d <= ahead; d++) days.push(dayOf(today + d * DAY_MS));
  return days;
}

/**
 * Drops the partitions of days before `cutoffDay` (and deletes older rows from the default partition).
 * Returns the days dropped.
 */
export async function dropPartitionsBefore<DB>(db: Kysely<DB>, cutoffDay: string): Promise<string[]> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${LOCK_KEY})`.execute(trx);
    const dropped: string[] = [];
    for (const day of await partitionDays(trx)) {
      if (day >= cutoffDay) break;
      await sql`drop table ${sql.table(partitionName(day))}`.execute(trx);
      dropped.push(day);
    }
    await sql`delete from usage_records_default where "timestamp" < ${sql.lit(`${cutoffDay}T00:00:00Z`)}`.execute(
      trx,
    );
    return dropped;
  });
}
