/**
 * Migration 0014 on PostgreSQL and on the embedded PGlite: a stored response keeps the deployment that
 * answered it (where a DELETE must also go, decision 0234), and a response stored before the migration
 * reads back with none (deleted locally only).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Migrator, sql } from 'kysely';
import pino from 'pino';
import type { StoredResponse } from '../../src/endpoints/responses/store.js';
import { ResponseStore } from '../../src/endpoints/responses/store.js';
import { type Database, migrate, openDatabase } from '../../src/stores/database.js';
import { migrationProvider } from '../../src/stores/migrations/index.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const logger = pino({ level: 'silent' });
const skip = await requireServices('postgres');

const record = (id: string, deployment: string | null): StoredResponse => ({
  id,
  native: deployment !== null,
  deployment,
  previousResponseId: null,
  inputItems: [{ id: `${id}_in0`, item: { type: 'message', role: 'user', content: 'Hi' } }],
  history: [],
  response: { id, object: 'response', status: 'completed', output: [], model: 'gpt-4o' },
});

/** Migrates to 0013, stores a row the old way, then migrates to the latest; checks both kinds of rows. */
async function check(database: Database): Promise<void> {
  const migrator = new Migrator({ db: database.db, provider: migrationProvider });
  const to13 = await migrator.migrateTo('0013_level_guardrails');
  assert.equal(to13.error, undefined);
  await sql`insert into stored_responses (id, scope, model, status, native, input_items, history, response)
    values ('resp_old', 'key:a', 'gpt-4o', 'completed', true, '[]', '[]',
      '{"id":"resp_old","object":"response","status":"completed","output":[],"model":"gpt-4o"}')`.execute(
    database.db,
  );
  assert.deepEqual(await migrate(database.db), ['0014_response_deployment']);
  const store = new ResponseStore(() => database);
  await store.save('key:a', record('resp_native', 'openai-eu'), new Date());
  await store.save('key:a', record('resp_translated', null), new Date());
  assert.equal((await store.get('key:a', 'resp_native'))?.deployment, 'openai-eu');
  assert.equal((await store.get('key:a', 'resp_translated'))?.deployment, null);
  const old = await store.get('key:a', 'resp_old');
  assert.equal(old?.native, true);
  assert.equal(old?.deployment, null);
}

describe('stored responses: the answering deployment (migration 0014)', () => {
  it('PGlite (embedded)', async () => {
    const metrics = createMetrics({ processMetrics: false });
    // Opening migrates in the background; a fresh in-memory PGlite is migrated here step by step instead.
    const database = openDatabase({ url: null, dataDir: 'memory://' }, { logger, metrics });
    await database.ready;
    await sql`drop schema public cascade`.execute(database.db);
    await sql`create schema public`.execute(database.db);
    try {
      await check(database);
    } finally {
      await database.close();
    }
  });

  describe('PostgreSQL', { skip }, () => {
    let testDb: TestDatabase;
    before(async () => {
      testDb = await createTestDatabase('responses_0014');
    });
    after(async () => {
      await testDb.drop();
    });
    it('PostgreSQL', async () => {
      const metrics = createMetrics({ processMetrics: false });
      const database = openDatabase({ url: testDb.url, dataDir: 'unused' }, { logger, metrics });
      await database.ready;
      await sql`drop schema public cascade`.execute(database.db);
      await sql`create schema public`.execute(database.db);
      try {
        await check(database);
      } finally {
        await database.close();
      }
    });
  });
});
