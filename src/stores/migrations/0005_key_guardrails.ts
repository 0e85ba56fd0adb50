/**
 * 0005: guardrails (DESIGN §17). `api_keys.guardrails`: the policy names attached to a key (JSON array,
 * `[]` = none); `usage_records.guardrails`: the actions taken for the request (JSON of entity, action,
 * direction, policy and count — never a matched value), null when none fired.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('api_keys')
    .addColumn('guardrails', 'text', (c) => c.notNull().defaultTo(sql`'[]'`))
    .execute();
  await db.schema.alterTable('usage_records').addColumn('guardrails', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('guardrails').execute();
  await db.schema.alterTable('api_keys').dropColumn('guardrails').execute();
}
