/**
 * 0013: guardrail policies on organizations and teams (DESIGN §17: "configured per key/team/org or
 * globally"). `guardrails`: the policy names applied to every request of a key in the level (JSON array,
 * `[]` = none), added to the global default and the key's own names.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['organizations', 'teams']) {
    await db.schema
      .alterTable(table)
      .addColumn('guardrails', 'text', (c) => c.notNull().defaultTo(sql`'[]'`))
      .execute();
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['organizations', 'teams']) {
    await db.schema.alterTable(table).dropColumn('guardrails').execute();
  }
}
