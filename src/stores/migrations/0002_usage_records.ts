/**
 * 0002: `usage_records`, one row per completion or embedding request (DESIGN §8). `request_id` is unique so
 * the usage recorder can replay a batch (spool file, retry after a timeout) without writing a row twice.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('usage_records')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('timestamp', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('request_id', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('api_key_id', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('provider', 'text')
    .addColumn('input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('output_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cached_input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('cost_usd', sql`numeric(12, 6)`)
    .addColumn('cached', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('cache_type', 'text')
    .addColumn('saved_usd', sql`numeric(12, 6)`, (c) => c.notNull().defaultTo(0))
    .addColumn('latency_ms', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('http_status', 'integer', (c) => c.notNull())
    .addColumn('estimated', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('stream', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('prompt_name', 'text')
    .addColumn('prompt_version', 'integer')
    .execute();
  await db.schema
    .createIndex('usage_records_timestamp_idx')
    .on('usage_records')
    .column('timestamp')
    .execute();
  await db.schema
    .createIndex('usage_records_user_timestamp_idx')
    .on('usage_records')
    .columns(['user_id', 'timestamp'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('usage_records').execute();
}
