/**
 * The usage recorder under back-pressure, against real PostgreSQL (DESIGN §8): with a small queue bound,
 * a database that is down (a TcpProxy in front of it is cut) or slow (another session holds a lock on
 * `usage_records`, so inserts hang past the write timeout) makes records spill to the spool file while the
 * in-memory queue stays bounded; once the database is back every record arrives, none twice. And a large
 * spool file left by a dead process replays, streamed, with no duplicates.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { type UsageRecord, UsageRecorder } from '../../src/accounting/recorder.js';
import { migrate, openDatabase } from '../../src/stores/database.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { createTestDatabase, requireServices, TcpProxy, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');
const MAX_QUEUE = 50;
const CONCURRENCY = 20;

async function counts(url: string): Promise<{ total: number; distinct: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ total: string; distinct: string }>(
      'select count(*) as total, count(distinct request_id) as distinct from usage_records',
    );
    return { total: Number(rows[0]?.total), distinct: Number(rows[0]?.distinct) };
  } finally {
    await client.end();
  }
}

/** Sends `n` chat requests, `CONCURRENCY` at a time; samples the in-memory queue after each answer. */
async function load(gw: TestGateway, n: number): Promise<{ maxInMemory: number }> {
  let next = 0;
  let maxInMemory = 0;
  const depth = async () => (await gw.gateway.metrics.usageQueueDepth.get()).values[0]?.value ?? 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const res = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'gpt-4o-mini',
        messages: userMessage(`back-pressure ${i}`),
      });
      assert.equal(res.status, 200, 'a slow or absent database never fails a request');
      await res.text();
      maxInMemory = Math.max(maxInMemory, await depth());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { maxInMemory };
}

describe('usage recorder under back-pressure (PostgreSQL)', { skip }, () => {
  let mock: MockUpstream;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let gw: TestGateway;
  let spoolDir: string;
  const spoolFiles = () => readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl'));
  const spooledTotal = async () => (await gw.gateway.metrics.usageRecordsSpooled.get()).values[0]?.value ?? 0;

  before(async () => {
    mock = await MockUpstream.start();
    database = await createTestDatabase('backpressure');
    const target = new URL(database.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-bp-'));
    gw = await startGateway({
      mock,
      env: {
        USAGE_ENABLED: 'true',
        DATABASE_URL: proxy.wrap(database.url),
        USAGE_SPOOL_DIR: spoolDir,
        USAGE_BATCH_SIZE: '10',
        USAGE_FLUSH_INTERVAL_MS: '50',
        USAGE_MAX_QUEUE: String(MAX_QUEUE),
        USAGE_RECHECK_INTERVAL_MS: '200',
        LOG_LEVEL: 'error',
      },
      yaml: 'accounting:\n  write_timeout_ms: 300\n',
    });
    assert.ok(gw.gateway.stores.database().isReady(), 'opened at start');
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
    await mock?.close();
    await database?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  async function spillWhileDown(): Promise<void> {
    const { maxInMemory } = await load(gw, 400);
    // The queue spills as soon as it holds MAX_QUEUE; besides it, the group being appended to the spool
    // and the records that arrive during that append (fsync) wait in memory. An unbounded queue would
    // have held all 400.
    assert.ok(maxInMemory <= 3 * MAX_QUEUE, `in memory at most ${maxInMemory}`);
    // The rest of the queue follows at the next flushes (the database is known to be down).
    await until('all 400 spooled', spooledTotal, (n) => n >= 400);
    assert.ok(spoolFiles().length > 0, 'a spool file on disk');
    assert.equal((await counts(database.url)).total, 0, 'nothing reached the database meanwhile');
  }

  test('database down: records spill to the spool, memory stays bounded, all arrive once when it is back', async () => {
    await proxy.cut();
    try {
      await spillWhileDown();
    } finally {
      await proxy.restore();
    }
    // Nobody restarts anything: the recorder re-checks the database by itself.
    await until(
      'all 400 written',
      () => counts(database.url),
      (c) => c.total >= 400,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(await counts(database.url), { total: 400, distinct: 400 });
    await until(
      'spool emptied',
      async () => spoolFiles().length,
      (n) => n === 0,
    );
    assert.equal((await gw.gateway.metrics.usageRecordsPending.get()).values[0]?.value, 0);
  });

  test('database slow (inserts blocked by a lock): spill while it hangs, every record once after', async () => {
    const before = (await counts(database.url)).total;
    const spooledBefore = await spooledTotal();
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table usage_records in access exclusive mode');
    try {
      const { maxInMemory } = await load(gw, 300);
      assert.ok(maxInMemory <= 3 * MAX_QUEUE, `in memory at most ${maxInMemory}`);
      assert.ok((await spooledTotal()) - spooledBefore > 0, 'records went to the spool while inserts hung');
    } finally {
      await blocker.query('commit');
      await blocker.end();
    }
    await until(
      'all 300 written',
      () => counts(database.url),
      (c) => c.total >= before + 300,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    const final = await counts(database.url);
    assert.equal(final.total, before + 300, 'hung inserts that finished late were not written twice');
    assert.equal(final.distinct, final.total);
  });
});

describe('a large spool file replays streamed, without duplicates', { skip }, () => {
  test('20,000 spooled rows (some repeated, some already written) → each exactly once', async () => {
    const database = await createTestDatabase('replay');
    const spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-replay-'));
    const logger = createLogger({ level: 'silent' });
    const metrics = createMetrics({ processMetrics: false });
    const db = openDatabase({ url: database.url, dataDir: 'memory://' }, { logger, metrics });
    try {
      await db.ready;
      await migrate(db.db);
      const row = (i: number): UsageRecord => ({
        timestamp: new Date(1_700_000_000_000 + i).toISOString(),
        request_id: `replay-${i}`,
        user_id: 'u',
        api_key_id: null,
        model: 'gpt-4o-mini',
        provider: 'openai',
        input_tokens: 10,
        output_tokens: 5,
        cached_input_tokens: 0,
        cost_usd: '0.000100',
        cached: false,
        cache_type: null,
        saved_usd: '0.000000',
        latency_ms: 12,
        status: 'success',
        http_status: 200,
        estimated: false,
        stream: false,
        prompt_name: null,
        prompt_version: null,
      });
      // Already in the database (a batch written whose acknowledgement was lost before it was spooled).
      await db.db
        .insertInto('usage_records')
        .values(Array.from({ length: 500 }, (_, i) => row(i)))
        .execute();
      // Left by a process that is gone: its pid no longer runs.
      const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number;
      const file = join(spoolDir, `usage-${deadPid}-0badcafe.jsonl`);
      const out = createWriteStream(file);
      for (let i = 0; i < 20_000; i++) {
        const line = `${JSON.stringify(row(i))}\n`;
        if (!out.write(i % 20 === 0 ? line + line : line))
          await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((resolve) => out.end(resolve));

      const recorder = new UsageRecorder({
        database: () => db,
        spoolDir,
        batchSize: 500,
        flushIntervalMs: 60_000,
        maxQueue: 100,
        recheckIntervalMs: 1000,
        writeTimeoutMs: 10_000,
        closeTimeoutMs: 5_000,
        logger,
        metrics,
      });
      await recorder.flush();
      assert.equal(recorder.pending, 0);
      assert.equal(existsSync(file), false, 'the replayed file is removed');
      await recorder.close();
      assert.deepEqual(await counts(database.url), { total: 20_000, distinct: 20_000 });
    } finally {
      await db.close();
      await database.drop();
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
