/**
 * 0006: tenancy (DESIGN §7, issue 16). Organizations and teams, each carrying daily/monthly/total USD
 * budgets, rpm and tpm limits, allowed models, end-user defaults and metadata; API keys gain the same
 * limits, a team and organization, a role (`user`, `team_admin`, `org_admin`), metadata and the flag that
 * lets them name end users. `api_keys.user_id` becomes optional (a team key needs no user). The audit log
 * records the organization and team an action touched, so org and team admins can read their own part.
 * Lists are JSON text (as in 0001), so the same SQL runs on PostgreSQL and PGlite.
 */
import { type CreateTableBuilder, type Kysely, sql } from 'kysely';

function limits<T extends string>(table: CreateTableBuilder<T>): CreateTableBuilder<T> {
  return table
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('daily_budget_usd', sql`numeric(12, 6)`)
    .addColumn('monthly_budget_usd', sql`numeric(12, 6)`)
    .addColumn('total_budget_usd', sql`numeric(12, 6)`)
    .addColumn('rpm_limit', 'integer')
    .addColumn('tpm_limit', 'integer')
    .addColumn('allowed_models', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('end_user_limits', 'text')
    .addColumn('metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`));
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await limits(
    db.schema.createTable('organizations').addColumn('id', 'text', (c) => c.primaryKey()),
  ).execute();
  await limits(
    db.schema
      .createTable('teams')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('org_id', 'text', (c) => c.references('organizations.id')),
  ).execute();
  await db.schema.createIndex('teams_org_id').on('teams').column('org_id').execute();

  await db.schema
    .alterTable('api_keys')
    .alterColumn('user_id', (c) => c.dropNotNull())
    .execute();
  const add = [
    ['team_id', sql`text`],
    ['org_id', sql`text`],
    ['role', sql`text not null default 'user'`],
    ['total_budget_usd', sql`numeric(12, 6)`],
    ['rpm_limit', sql`integer`],
    ['tpm_limit', sql`integer`],
    ['end_user_limits', sql`text`],
    ['allow_end_users', sql`boolean not null default false`],
    ['metadata', sql`text not null default '{}'`],
  ] as const;
  for (const [name, type] of add) {
    await db.schema.alterTable('api_keys').addColumn(name, type).execute();
  }
  await db.schema.createIndex('api_keys_team_id').on('api_keys').column('team_id').execute();
  await db.schema.createIndex('api_keys_org_id').on('api_keys').column('org_id').execute();

  await db.schema.alterTable('audit_log').addColumn('org_id', 'text').execute();
  await db.schema.alterTable('audit_log').addColumn('team_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_log').dropColumn('team_id').execute();
  await db.schema.alterTable('audit_log').dropColumn('org_id').execute();
  await db.schema.dropIndex('api_keys_org_id').execute();
  await db.schema.dropIndex('api_keys_team_id').execute();
  for (const name of [
    'metadata',
    'allow_end_users',
    'end_user_limits',
    'tpm_limit',
    'rpm_limit',
    'total_budget_usd',
    'role',
    'org_id',
    'team_id',
  ]) {
    await db.schema.alterTable('api_keys').dropColumn(name).execute();
  }
  await db.schema.dropTable('teams').execute();
  await db.schema.dropTable('organizations').execute();
}
