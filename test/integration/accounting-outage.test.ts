/**
 * The no-data-loss test (issue 5, point 7): PostgreSQL goes away (a TcpProxy in front of it is cut) while
 * 500 requests run; they all succeed, their usage records are spooled to disk, and once the database is
 * back every record is written exactly once. Also: SIGTERM/close() flushes the queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { createTestDatabase, requireServices, TcpProxy, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');

async function countRecords(url: string): Promise<{ total: number; distinct: number; ids: Set<string> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ request_id: string }>('select request_id from usage_records');
    const ids = new Set(rows.map((r) => r.request_id));
    return { total: rows.length, distinct: ids.size, ids };
  } finally {
    await client.end();
  }
}

describe('usage records survive a database outage', { skip }, () => {
  let mock: MockUpstream;
  let database: TestDatabase;
  let proxy: TcpProxy;
  let gw: TestGateway;
  let spoolDir: string;

  before(async () => {
    mock = await MockUpstream.start();
    database = await createTestDatabase('outage');
    const target = new URL(database.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
    spoolDir = mkdtempSync(join(tmpdir(), 'llmgw-spool-test-'));
    gw = await startGateway({
      mock,
      env: {
        USAGE_ENABLED: 'true',
        DATABASE_URL: proxy.wrap(database.url),
        USAGE_SPOOL_DIR: spoolDir,
        USAGE_BATCH_SIZE: '50',
        USAGE_FLUSH_INTERVAL_MS: '50',
        LOG_LEVEL: 'warn',
      },
    });
    await gw.gateway.stores.database().ready;
  });
  after(async () => {
    await gw?.close();
    await proxy?.close();
    await mock?.close();
    await database?.drop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  test('database cut while 500 requests run, then back: exactly 500 records, none twice', async () => {
    const url = `${gw.url}/v1/chat/completions`;
    const ids: string[] = [];
    let next = 0;
    let cut: Promise<void> | null = null;
    const worker = async () => {
      while (next < 500) {
        const i = next++;
        // Cut after the first 100 requests were sent: some batches are written, the rest must be spooled.
        if (i === 100) cut = proxy.cut();
        const res = await postJson(url, { model: 'gpt-4o-mini', messages: userMessage(`request ${i}`) });
        assert.equal(res.status, 200, 'a database outage never fails a request');
        ids.push(res.headers.get('x-request-id') as string);
        await res.text();
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    await cut;
    assert.equal(ids.length, 500);
    assert.equal(new Set(ids).size, 500);

    // While the database is away the records wait on disk.
    await until(
      'records spooled',
      async () => readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl')).length,
      (n) => n > 0,
    );
    const during = await countRecords(database.url);
    assert.ok(during.total < 500, `only ${during.total} records could be written before the cut`);
    // Every record is either in the database or pending (in memory or spooled) once in-flight batches failed.
    const pending = async () => {
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      return Number(/^llm_usage_records_pending (\d+)/m.exec(metrics)?.[1]);
    };
    await until('pending = 500 − written', pending, (n) => n >= 500 - during.total);

    await proxy.restore();
    const final = await until(
      'all records written',
      () => countRecords(database.url),
      (c) => c.total >= 500,
    );
    // Give a duplicate a chance to show up (a replayed batch that was already written).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const settled = await countRecords(database.url);
    assert.equal(settled.total, 500);
    assert.equal(settled.distinct, 500);
    assert.deepEqual([...final.ids].sort(), [...ids].sort());
    assert.deepEqual(
      readdirSync(spoolDir).filter((f) => f.endsWith('.jsonl')),
      [],
      'the spool file is removed once replayed',
    );
  });
});

describe('shutdown flushes the queue', { skip }, () => {
  test('records queued at close() are written before it resolves', async () => {
    const mock = await MockUpstream.start();
    const database = await createTestDatabase('flush');
    try {
      const gw = await startGateway({
        mock,
        env: {
          USAGE_ENABLED: 'true',
          DATABASE_URL: database.url,
          // Nothing is flushed by size or timer during the test: only close() writes.
          USAGE_BATCH_SIZE: '1000',
          USAGE_FLUSH_INTERVAL_MS: '600000',
        },
      });
      await gw.gateway.stores.database().ready;
      for (let i = 0; i < 30; i++) {
        const res = await postJson(`${gw.url}/v1/chat/completions`, {
          model: 'gpt-4o-mini',
          messages: userMessage(),
        });
        assert.equal(res.status, 200);
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal((await countRecords(database.url)).total, 0);
      await gw.close();
      assert.equal((await countRecords(database.url)).total, 30);
    } finally {
      await mock.close();
      await database.drop();
    }
  });
});
