/**
 * The shared stores every feature builds on: the database (PostgreSQL and PGlite, same migrations), the
 * Redis connection's bounded waits and outage accounting, and the admin guard and /metrics of the app.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { openDatabase } from '../../src/stores/database.js';
import { createRedisStore } from '../../src/stores/redis.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import {
  createTestDatabase,
  REDIS_URL,
  requireServices,
  startRedisServer,
  TcpProxy,
  type TestDatabase,
} from '../helpers/services.js';

const logger = pino({ level: 'silent' });
const skip = await requireServices('redis', 'postgres');

describe('database', { skip }, () => {
  let testDb: TestDatabase;
  before(async () => {
    testDb = await createTestDatabase('stores');
  });
  after(async () => {
    await testDb.drop();
  });

  it('PostgreSQL: opens, migrates and answers', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const database = openDatabase({ url: testDb.url, dataDir: 'unused' }, { logger, metrics });
    await database.ready;
    assert.equal(database.kind, 'postgres');
    assert.deepEqual(await database.ping(), { status: 'ok', kind: 'postgres' });
    const { rows } = await sql<{ n: number }>`select 1 as n`.execute(database.db);
    assert.equal(rows[0]?.n, 1);
    await database.close();
  });

  it('PGlite in memory: same migrations, transactions serialised on its one connection', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const database = openDatabase({ url: null, dataDir: 'memory://' }, { logger, metrics });
    await database.ready;
    assert.equal(database.kind, 'pglite');
    await sql`create table t (id int primary key)`.execute(database.db);
    await Promise.all(
      [1, 2, 3].map((id) =>
        database.db.transaction().execute(async (trx) => {
          await sql`insert into t values (${id})`.execute(trx);
        }),
      ),
    );
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from t`.execute(database.db);
    assert.equal(rows[0]?.n, 3);
    await database.close();
  });

  it('an unreachable database keeps retrying in the background and reports itself', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
    await proxy.cut();
    const metrics = createMetrics({ processMetrics: false });
    const database = openDatabase({ url: proxy.wrap(testDb.url), dataDir: 'unused' }, { logger, metrics });
    assert.equal((await database.ping()).status, 'starting');
    while (((await metrics.dependencyErrors.get()).values[0]?.value ?? 0) < 1) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Once an attempt failed it is down, not starting: /health turns degraded (docs/deployment.md).
    const down = await database.ping();
    assert.equal(down.status, 'down');
    assert.match(down.error ?? '', /\S/);
    await proxy.restore();
    await database.ready;
    assert.equal((await database.ping()).status, 'ok');
    await database.close();
    await proxy.close();
  });
});

describe('redis store', { skip }, () => {
  it('answers through the shared server', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const store = createRedisStore(
      { url: REDIS_URL, commandTimeoutMs: 200, keyPrefix: 't:' },
      { logger, metrics },
    );
    assert.equal(await store.waitReady(2000), true);
    assert.equal((await store.ping()).status, 'ok');
    await store.close();
  });

  it('an answer that arrived while the event loop was busy past the deadline wins over the timer', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const store = createRedisStore(
      { url: REDIS_URL, commandTimeoutMs: 50, keyPrefix: 't:' },
      { logger, metrics },
    );
    try {
      assert.equal(await store.waitReady(2000), true);
      for (let i = 0; i < 5; i++) {
        const answer = store.withDeadline(store.client.ping());
        // A burst of requests keeps the loop busy for longer than the deadline; Redis answered long before.
        const until = performance.now() + 120;
        while (performance.now() < until) {}
        assert.equal(await answer, 'PONG');
      }
    } finally {
      await store.close();
    }
  });

  it('fails fast while Redis is down, counts it, and recovers by itself', async () => {
    const redis = await startRedisServer();
    const metrics = createMetrics({ processMetrics: false });
    const store = createRedisStore(
      { url: redis.url, commandTimeoutMs: 50, keyPrefix: 't:' },
      { logger, metrics },
    );
    assert.equal(await store.waitReady(2000), true);
    await redis.stop();
    const started = performance.now();
    await assert.rejects(store.withDeadline(store.client.get('k')));
    assert.ok(performance.now() - started < 500, 'no wait behind a dead connection');
    store.failed('get', new Error('down'));
    assert.equal((await metrics.dependencyErrors.get()).values[0]?.value, 1);
    await redis.start();
    assert.equal(await store.waitReady(5000), true, 'reconnects by itself');
    assert.equal(await store.withDeadline(store.client.set('k', 'v'), 500), 'OK');
    await store.close();
    await redis.close();
  });
});

describe('admin guard and /metrics', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let open: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { GATEWAY_ADMIN_KEY: 'admin-SECRET-key-0123456789', AUTH_MODE: 'none' },
    });
    open = await startGateway({ mock });
  });
  after(async () => {
    await gw.close();
    await open.close();
    await mock.close();
  });

  it('admin routes need the admin key; without GATEWAY_ADMIN_KEY they are disabled', async () => {
    const none = await fetch(`${gw.url}/admin/config`);
    assert.equal(none.status, 401);
    assert.match(((await none.json()) as { error: { message: string } }).error.message, /admin key/);
    const wrong = await fetch(`${gw.url}/admin/config`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const ok = await fetch(`${gw.url}/admin/config`, {
      headers: { authorization: 'Bearer admin-SECRET-key-0123456789' },
    });
    assert.equal(ok.status, 200);
    const config = (await ok.json()) as { server: { port: number } };
    assert.equal(typeof config.server.port, 'number');
    assert.doesNotMatch(JSON.stringify(config), /SECRET/, 'no secret in the effective config');
    const disabled = await fetch(`${open.url}/admin/config`, {
      headers: { authorization: 'Bearer admin-SECRET-key-0123456789' },
    });
    assert.equal(disabled.status, 401);
    assert.match(((await disabled.json()) as { error: { message: string } }).error.message, /disabled/);
  });

  it('/metrics serves the Prometheus registry with the gateway metrics and process metrics', async () => {
    const res = await fetch(`${gw.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const name of ['llm_requests_total', 'llm_dependency_errors_total', 'process_cpu_seconds_total']) {
      assert.match(text, new RegExp(`# HELP ${name} `));
    }
  });
});
