/**
 * Migration 0011 (decision 0181): a database where two experiments already run on one prompt label (the
 * API's check was not race-proof before it) keeps the one that served the label — the lowest id — running,
 * stops the others, and from then on refuses a second running experiment on a label.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import { migrationProvider } from '../../src/stores/migrations/index.js';
import { pglitePool } from '../../src/stores/pglite-pool.js';

describe('migration 0011: one running experiment per prompt label (PGlite)', () => {
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: pglitePool('memory://') }) });
  const status = async () => {
    const { rows } = await sql<{ id: string; status: string }>`
      select id, status from experiments order by id`.execute(db);
    return Object.fromEntries(rows.map((r) => [r.id, r.status]));
  };
  const insert = (id: string, state: string, prompt: string | null, label: string | null) =>
    sql`insert into experiments (id, status, variants, sticky_by, prompt_id, label)
      values (${id}, ${state}, '[]', 'user', ${prompt}, ${label})`.execute(db);

  before(async () => {
    const migrator = new Migrator({ db, provider: migrationProvider });
    assert.equal((await migrator.migrateTo('0010_console')).error, undefined);
    await insert('exp-b', 'running', 'tips', 'production');
    await insert('exp-a', 'running', 'tips', 'production');
    await insert('exp-c', 'running', 'tips', 'production');
    await insert('exp-d', 'running', 'tips', 'canary');
    await insert('exp-e', 'stopped', 'tips', 'production');
    await insert('free-1', 'running', null, null);
    await insert('free-2', 'running', null, null);
    assert.equal((await migrator.migrateToLatest()).error, undefined);
  });
  after(() => db.destroy());

  test('the lowest id keeps the label; the others stop; experiments without a label are left alone', async () => {
    assert.deepEqual(await status(), {
      'exp-a': 'running',
      'exp-b': 'stopped',
      'exp-c': 'stopped',
      'exp-d': 'running',
      'exp-e': 'stopped',
      'free-1': 'running',
      'free-2': 'running',
    });
  });

  test('a second running experiment on a label is refused by the database', async () => {
    await assert.rejects(insert('exp-f', 'running', 'tips', 'canary'), (err: unknown) => {
      assert.equal((err as { code?: string }).code, '23505');
      return true;
    });
    await insert('exp-f', 'draft', 'tips', 'canary');
    await assert.rejects(sql`update experiments set status = 'running' where id = 'exp-f'`.execute(db));
    await sql`update experiments set status = 'stopped' where id = 'exp-d'`.execute(db);
    await sql`update experiments set status = 'running' where id = 'exp-f'`.execute(db);
    assert.equal((await status())['exp-f'], 'running');
  });
});
