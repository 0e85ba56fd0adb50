import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { type Database, openDatabase } from '../stores/database.js';
import { insertUsageBatch } from '../stores/usage-rollups.js';
import { createMetrics } from '../telemetry/metrics.js';
import { warmUpRow, warmUpUsageWriter } from './writer-warmup.js';

const silent = pino({ level: 'silent' });
const TIMESTAMP = '2026-03-02T10:00:00.000Z';
let database: Database;

before(async () => {
  database = openDatabase(
    { url: null, dataDir: 'memory://' },
    { logger: silent, metrics: createMetrics({ processMetrics: false }) },
  );
  await database.ready;
});
after(() => database.close());

async function counts(): Promise<number[]> {
  const tables = ['usage_records', 'usage_daily_team', 'usage_daily_key', 'usage_daily_tag'];
  const out: number[] = [];
  for (const table of tables) {
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(
      database.db,
    );
    out.push(rows[0]?.n ?? -1);
  }
  return out;
}

test('the warm-up runs the writer statement and leaves no record and no rollup behind', async () => {
  assert.equal(await warmUpUsageWriter(database, TIMESTAMP, silent), true);
  assert.deepEqual(await counts(), [0, 0, 0, 0]);
  // The writer works after it, and the same row (same request id) is inserted for real: nothing was kept.
  assert.equal(await insertUsageBatch(database.db, [warmUpRow(TIMESTAMP)]), 1);
  const [records, team, key, tag] = await counts();
  assert.equal(records, 1);
  assert.ok((team ?? 0) + (key ?? 0) + (tag ?? 0) > 0, 'the real insert fed the rollups');
});

test('a database that is not ready is skipped, never waited for', async () => {
  const notReady = { ...database, isReady: () => false } as Database;
  assert.equal(await warmUpUsageWriter(notReady, TIMESTAMP, silent), false);
});

test('a failing statement is reported as not warmed, never thrown', async () => {
  const failing = {
    isReady: () => true,
    db: {
      transaction: () => ({ execute: () => Promise.reject(new Error('connection refused')) }),
    },
  } as unknown as Database;
  assert.equal(await warmUpUsageWriter(failing, TIMESTAMP, silent), false);
});
