/**
 * 0012: each API key names the first key of its rotation chain (`lineage_id`; null for a key never
 * rotated, which is its own lineage). Budgets, rate limits and stored responses are kept under the lineage,
 * so rotating a key carries its spend and state on to the new key instead of starting them afresh
 * (decision 0209). Keys rotated before this migration get their lineage from the `rotated_from` chain.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('lineage_id', 'text').execute();
  await sql`with recursive chain(id, root) as (
      select id, id from api_keys where rotated_from is null
      union all
      select k.id, c.root from api_keys k join chain c on k.rotated_from = c.id
    )
    update api_keys set lineage_id = chain.root
    from chain where chain.id = api_keys.id and api_keys.rotated_from is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('lineage_id').execute();
}
