/**
 * 0004: `stored_responses`, the Responses API answers kept with `store: true` (DESIGN §16), for
 * `GET/DELETE /v1/responses/{id}`, `…/input_items` and `previous_response_id` chaining. `scope` is the API
 * key (or, without keys, the end user) that created the response: every read filters on it. JSON columns are
 * text (the same on PostgreSQL and PGlite; never queried inside). 0003 is taken by another change.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('stored_responses')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('native', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('previous_response_id', 'text')
    .addColumn('input_items', 'text', (c) => c.notNull())
    .addColumn('history', 'text', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('stored_responses_scope_created_idx')
    .on('stored_responses')
    .columns(['scope', 'created_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('stored_responses').execute();
}
