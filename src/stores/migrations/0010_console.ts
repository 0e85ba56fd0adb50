/**
 * 0010: the web console (DESIGN §18). `console_sessions`: signed-in console sessions, keyed by the SHA-256
 * of the session id (the cookie's value is never stored), with the admin actor they act as, the digest
 * of the key they were opened with (a changed key ends them), their CSRF token and expiry. `usage_records.route`: the model or alias the client asked for (the record's `model` is
 * the one that served), for the request log.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('key_digest', 'text', (c) => c.notNull())
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('console_sessions_expires_idx')
    .on('console_sessions')
    .column('expires_at')
    .execute();
  await db.schema.alterTable('usage_records').addColumn('route', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_records').dropColumn('route').execute();
  await db.schema.dropTable('console_sessions').execute();
}
