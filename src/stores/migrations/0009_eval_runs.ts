/**
 * 0009: evaluation runs and their results (DESIGN §12, `llm-gateway eval run --admin-key`). A run is
 * written through the admin API (`/admin/evals/runs…`); a result row is one item × target, unique per run,
 * so a resumed run's uploads replace rather than duplicate. JSON columns are text (the same on PostgreSQL
 * and PGlite; never queried inside). 0006–0008 belong to other changes.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('eval_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('dataset', 'text', (c) => c.notNull())
    .addColumn('dataset_sha256', 'text', (c) => c.notNull())
    .addColumn('item_count', 'integer', (c) => c.notNull())
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('judge', 'text')
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('summary', 'text')
    .execute();
  await db.schema.createIndex('eval_runs_created_idx').on('eval_runs').column('created_at').execute();
  await db.schema
    .createTable('eval_results')
    .addColumn('run_id', 'text', (c) => c.notNull().references('eval_runs.id').onDelete('cascade'))
    .addColumn('item_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('error', 'text')
    .addColumn('scores', 'text', (c) => c.notNull())
    .addColumn('latency_ms', 'double precision')
    .addColumn('ttft_ms', 'double precision')
    .addColumn('cost_usd', sql`numeric(12, 6)`)
    .addColumn('input_tokens', 'integer')
    .addColumn('output_tokens', 'integer')
    .addColumn('record', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('eval_results_pk', ['run_id', 'item_id', 'target'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('eval_results').execute();
  await db.schema.dropTable('eval_runs').execute();
}
