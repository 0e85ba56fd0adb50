/**
 * 0008: prompts, experiments and feedback (DESIGN §12; docs/prompts.md).
 *
 * - `prompts`: one row per prompt id; `archived_at` hides it from requests (its versions stay readable).
 * - `prompt_versions`: immutable numbered versions. There is no update path in the code, and a trigger
 *   refuses every UPDATE so a hand-written statement cannot change one either (decision 0110).
 * - `prompt_labels`: `production`, `staging`, custom → a version; moved by one UPDATE (atomic).
 * - `experiments`: variants (JSON), sticky_by, holdout, status; optionally attached to a prompt label.
 * - `feedback`: one row per (request, metric, caller scope), upserted (idempotent).
 * - `usage_records`: `prompt_id`, `experiment_id`, `variant` (`prompt_name`/`prompt_version` exist since
 *   0002; `prompt_name` holds the prompt id too).
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('prompts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('archived_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('prompt_versions')
    .addColumn('prompt_id', 'text', (c) => c.notNull().references('prompts.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('messages', 'text', (c) => c.notNull())
    .addColumn('variables', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('params', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('prompt_versions_pk', ['prompt_id', 'version'])
    .execute();
  await sql`create function prompt_versions_immutable() returns trigger language plpgsql as $$
    begin raise exception 'prompt versions are immutable'; end $$`.execute(db);
  await sql`create trigger prompt_versions_no_update before update on prompt_versions
    for each row execute function prompt_versions_immutable()`.execute(db);
  await db.schema
    .createTable('prompt_labels')
    .addColumn('prompt_id', 'text', (c) => c.notNull().references('prompts.id'))
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('prompt_labels_pk', ['prompt_id', 'label'])
    .addForeignKeyConstraint('prompt_labels_version_fk', ['prompt_id', 'version'], 'prompt_versions', [
      'prompt_id',
      'version',
    ])
    .execute();
  await db.schema
    .createTable('experiments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('variants', 'text', (c) => c.notNull())
    .addColumn('sticky_by', 'text', (c) => c.notNull())
    .addColumn('holdout', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('prompt_id', 'text')
    .addColumn('label', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('feedback')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('metric', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('value', 'double precision', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('feedback_pk', ['request_id', 'metric', 'scope'])
    .execute();
  await db.schema
    .alterTable('usage_records')
    .addColumn('prompt_id', 'text')
    .addColumn('experiment_id', 'text')
    .addColumn('variant', 'text')
    .execute();
  await db.schema
    .createIndex('usage_records_experiment_idx')
    .on('usage_records')
    .columns(['experiment_id', 'variant'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_records_experiment_idx').execute();
  await db.schema
    .alterTable('usage_records')
    .dropColumn('variant')
    .dropColumn('experiment_id')
    .dropColumn('prompt_id')
    .execute();
  await db.schema.dropTable('feedback').execute();
  await db.schema.dropTable('experiments').execute();
  await db.schema.dropTable('prompt_labels').execute();
  await db.schema.dropTable('prompt_versions').execute();
  await sql`drop function prompt_versions_immutable()`.execute(db);
  await db.schema.dropTable('prompts').execute();
}
