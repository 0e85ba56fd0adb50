import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Kysely, PostgresDialect, type PostgresPool, sql } from 'kysely';
import pino from 'pino';
import { until } from '../../test/helpers/poll.js';
import { type Database, openDatabase } from '../stores/database.js';
import { usageRecordJson as usageLine } from '../stores/usage-rollups.js';
import { createMetrics } from '../telemetry/metrics.js';
import { type UsageRecord, UsageRecorder } from './recorder.js';
import { warmUpRow } from './writer-warmup.js';

const logger = pino({ level: 'silent' });
let database: Database;
const spoolDirs: string[] = [];

before(async () => {
  database = openDatabase(
    { url: null, dataDir: 'memory://' },
    { logger, metrics: createMetrics({ processMetrics: false }) },
  );
  await database.ready;
});
after(async () => {
  await database.close();
  for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
});

/** A spool directory of one test's own: what one test leaves there is no other's concern. */
function newSpoolDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-recorder-'));
  spoolDirs.push(dir);
  return dir;
}

/** The spool files in `dir`. */
const spoolFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.jsonl'));

function recorder(
  spoolDir: string,
  overrides: { database?: () => Database; writeTimeoutMs?: number; batchSize?: number } = {},
): UsageRecorder {
  return new UsageRecorder({
    database: overrides.database ?? (() => database),
    spoolDir,
    batchSize: overrides.batchSize ?? 1000,
    flushIntervalMs: 60_000,
    maxQueue: 10_000,
    recheckIntervalMs: 1000,
    writeTimeoutMs: overrides.writeTimeoutMs ?? 5000,
    closeTimeoutMs: 5000,
    logger,
    metrics: createMetrics({ processMetrics: false }),
  });
}

/** Waits until the disk writer has appended (and fsync'd) everything: `pending` counts rows only then. */
function spooled(usage: UsageRecorder, rows: number) {
  return until(
    `${rows} record(s) in the spool`,
    async () => ({ inMemory: usage.inMemory, pending: usage.pending }),
    (n) => n.inMemory === 0 && n.pending === rows,
  );
}

const record = (id: string, timestamp: string): UsageRecord => ({
  ...warmUpRow(timestamp),
  request_id: id,
});

/** The partition each request id's row is in. */
async function partitions(): Promise<Record<string, string>> {
  const { rows } = await sql<{ id: string; part: string }>`
    select request_id as id, tableoid::regclass::text as part from usage_records`.execute(database.db);
  return Object.fromEntries(rows.map((r) => [r.id, r.part]));
}

test('records of each day land in that day’s partition, ISO UTC timestamps or any other', async () => {
  const usage = recorder(newSpoolDir());
  usage.record(record('day-a-1', '2026-04-01T23:59:59.999Z'));
  usage.record(record('day-a-2', '2026-04-01T10:00:00.000Z'));
  usage.record(record('day-b-1', '2026-04-02T00:00:00.000Z'));
  // Not the gateway's own form: 01:30 at +02:00 is 23:30 UTC the day before.
  usage.record(record('day-a-3', '2026-04-02T01:30:00+02:00'));
  await usage.flush();
  assert.equal(usage.pending, 0);
  const where = await partitions();
  assert.equal(where['day-a-1'], 'usage_records_p20260401');
  assert.equal(where['day-a-2'], 'usage_records_p20260401');
  assert.equal(where['day-a-3'], 'usage_records_p20260401');
  assert.equal(where['day-b-1'], 'usage_records_p20260402');
  await usage.close();
});

test('a database that is not ready: records go to the spool as short-key lines, and replay from there', async () => {
  let ready = false;
  const gated = () => ({ ...database, isReady: () => ready }) as Database;
  const spoolDir = newSpoolDir();
  const usage = recorder(spoolDir, { database: gated });
  usage.record(record('spooled-1', '2026-04-05T08:00:00.000Z'));
  usage.record(record('spooled-2', '2026-04-05T08:00:01.000Z'));
  await usage.flush();
  // The append runs after the flush, on the disk writer's turn; meanwhile the two records are still
  // pending (held in memory, then on disk), never counted as gone.
  const seen = new Set<number>();
  while (usage.inMemory > 0) {
    seen.add(usage.pending);
    await new Promise((resolve) => setImmediate(resolve));
  }
  seen.add(usage.pending);
  assert.deepEqual([...seen], [2]);
  const files = spoolFiles(spoolDir);
  assert.equal(files.length, 1);
  const lines = readFileSync(join(spoolDir, files[0] as string), 'utf8')
    .trim()
    .split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { id: string }).id),
    ['spooled-1', 'spooled-2'],
  );
  ready = true;
  await usage.flush();
  assert.equal(usage.pending, 0);
  const where = await partitions();
  assert.equal(where['spooled-1'], 'usage_records_p20260405');
  assert.deepEqual(spoolFiles(spoolDir), []);
  await usage.close();
});

test('a spool file of an older version (column names) replays into its day’s partition; junk lines are skipped', async () => {
  const old = record('old-form-1', '2026-04-09T12:00:00.000Z');
  // A pid no process has: an orphan the recorder replays at its first flush.
  const spoolDir = newSpoolDir();
  const file = join(spoolDir, 'usage-999999999-0000abcd.jsonl');
  writeFileSync(file, `${JSON.stringify(old)}\n{"not":"a record"}\n42\n{"torn":`);
  const usage = recorder(spoolDir);
  usage.record(record('fresh-1', '2026-04-09T12:00:01.000Z'));
  await usage.flush();
  const where = await partitions();
  assert.equal(where['old-form-1'], 'usage_records_p20260409');
  assert.equal(where['fresh-1'], 'usage_records_p20260409');
  const { rows } = await sql<{ model: string; user_id: string }>`
    select model, user_id from usage_records where request_id = 'old-form-1'`.execute(database.db);
  assert.deepEqual(rows[0], { model: old.model, user_id: old.user_id });
  assert.deepEqual(spoolFiles(spoolDir), []);
  await usage.close();
});

test('a database that never answers: the new day’s partition and the insert are both bounded by the write timeout', async () => {
  // Every connection request hangs, as behind a lock on usage_records or a dead socket.
  const hanging = { connect: () => new Promise(() => undefined), end: async () => undefined };
  const stuck = {
    ...database,
    isReady: () => true,
    db: new Kysely({ dialect: new PostgresDialect({ pool: hanging as unknown as PostgresPool }) }),
  } as unknown as Database;
  const spoolDir = newSpoolDir();
  const usage = recorder(spoolDir, { database: () => stuck, writeTimeoutMs: 50 });
  // A day no earlier test wrote: its partition must be created first.
  usage.record(record('hung-1', '2026-04-20T08:00:00.000Z'));
  await usage.flush();
  await spooled(usage, 1);
  await usage.close();
  // The spool file holds it (replayed once a database answers, as the tests above show).
  const files = spoolFiles(spoolDir);
  assert.equal(files.length, 1);
  const line = readFileSync(join(spoolDir, files[0] as string), 'utf8').trim();
  assert.equal((JSON.parse(line) as { id: string }).id, 'hung-1');
});

test('records that arrive while a batch is written wait for a full batch or a flush, not an insert each', async () => {
  // A database whose inserts answer only when the test says so; it notes how many records each one held.
  const inserts: number[] = [];
  const gate = { answer: (): void => undefined };
  const client = {
    async query(text: string, params: unknown[] = []) {
      if (!text.includes('jsonb_to_recordset')) return { command: 'SELECT', rowCount: 0, rows: [] };
      const records = (JSON.parse(params[0] as string) as unknown[]).length;
      inserts.push(records);
      await new Promise<void>((resolve) => {
        gate.answer = resolve;
      });
      return { command: 'SELECT', rowCount: 1, rows: [{ records }] };
    },
    release: () => undefined,
  };
  const gated = {
    ...database,
    isReady: () => true,
    db: new Kysely({
      dialect: new PostgresDialect({
        pool: { connect: async () => client, end: async () => undefined } as unknown as PostgresPool,
      }),
    }),
  } as unknown as Database;
  const usage = recorder(newSpoolDir(), { database: () => gated, batchSize: 10 });
  const at = '2026-05-02T10:00:00.000Z';
  const add = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) usage.record(record(`gated-${i}`, at));
  };
  const inserted = (n: number) =>
    until(
      `${n} insert(s)`,
      async () => inserts.length,
      (count) => count === n,
    );
  /** Lets the recorder go on after an insert answered (no I/O here: a few turns of the loop suffice). */
  const settle = async () => {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  add(0, 10); // a full batch: written at once
  await inserted(1);
  add(10, 3); // arrive while it is written
  gate.answer();
  await settle();
  assert.deepEqual(inserts, [10], 'the 3 newcomers wait: no insert of their own');
  assert.equal(usage.inMemory, 3);

  add(13, 7); // now a batch is full again
  await inserted(2);
  gate.answer();
  await settle();
  assert.deepEqual(inserts, [10, 10]);

  add(20, 2); // fewer than a batch: written by a flush (the timer's, close()'s)
  const flushed = usage.flush();
  await inserted(3);
  gate.answer();
  await flushed;
  assert.deepEqual(inserts, [10, 10, 2]);
  assert.equal(usage.pending, 0);
  await usage.close();
});

test('counts and amounts outside their columns are kept in range, not refused with the batch (decision 0214)', async () => {
  const usage = recorder(newSpoolDir());
  usage.record({
    ...record('huge-1', '2026-04-12T08:00:00.000Z'),
    input_tokens: 10.5,
    output_tokens: 4_000_000_000,
    cached_input_tokens: -3,
    cost_usd: '4000000.000000',
  });
  usage.record(record('huge-next', '2026-04-12T08:00:01.000Z'));
  await usage.flush();
  assert.equal(usage.pending, 0);
  const { rows } = await sql<{ i: number; o: number; ci: number; c: string }>`
    select input_tokens as i, output_tokens as o, cached_input_tokens as ci, cost_usd as c
    from usage_records where request_id = 'huge-1'`.execute(database.db);
  assert.deepEqual(
    rows.map((r) => [r.i, r.o, r.ci, Number(r.c)]),
    [[11, 2_147_483_647, 0, 999_999.999999]],
  );
  assert.equal((await partitions())['huge-next'], 'usage_records_p20260412');
  await usage.close();
});

test('a record the database refuses as data is set aside; the records around it and after it are written', async () => {
  // A spool line written before the ranges were kept (a count beyond an integer column), then fresh ones.
  const spoolDir = newSpoolDir();
  const poisoned = JSON.parse(usageLine(record('poisoned-1', '2026-04-13T08:00:00.000Z'))) as Record<
    string,
    unknown
  >;
  poisoned.o = 4_000_000_000;
  writeFileSync(
    join(spoolDir, 'usage-999999998-0000abce.jsonl'),
    [usageLine(record('before-1', '2026-04-13T07:59:59.000Z')), JSON.stringify(poisoned)].join('\n'),
  );
  const usage = recorder(spoolDir);
  usage.record(record('after-1', '2026-04-13T08:00:01.000Z'));
  await usage.flush();
  assert.equal(usage.pending, 0, 'nothing is held back behind the refused record');
  const where = await partitions();
  assert.equal(where['before-1'], 'usage_records_p20260413');
  assert.equal(where['after-1'], 'usage_records_p20260413');
  assert.equal(where['poisoned-1'], undefined);
  const rejected = readdirSync(spoolDir).filter((f) => f.startsWith('rejected-'));
  assert.equal(rejected.length, 1, 'set aside in a file of its own, never replayed');
  const kept = readFileSync(join(spoolDir, rejected[0] as string), 'utf8')
    .trim()
    .split('\n');
  assert.deepEqual(
    kept.map((l) => (JSON.parse(l) as { id: string }).id),
    ['poisoned-1'],
  );
  // A restart does not replay it.
  await usage.close();
  const again = recorder(spoolDir);
  await again.flush();
  assert.equal(again.pending, 0);
  await again.close();
});
