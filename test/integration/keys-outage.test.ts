/**
 * The key database goes down (a TCP proxy in front of PostgreSQL is cut): keys already loaded keep working
 * from memory, config keys work, a key this instance never saw gets 503 (fail closed, not 401); once the
 * database is back the new key works without a restart.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { KeyRepository } from '../../src/auth/keys.js';
import { systemClock } from '../../src/core/clock.js';
import { openDatabase } from '../../src/stores/database.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, TcpProxy, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');
const ADMIN = 'admin-SECRET-outage-0123456789';
const STATIC_KEY = 'sk-gw-static-config-key-0123456789';

describe('key database down', { skip }, () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    db = await createTestDatabase('keys_outage');
    const url = new URL(db.url);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { DATABASE_URL: proxy.wrap(db.url), GATEWAY_ADMIN_KEY: ADMIN, AUTH_REFRESH_INTERVAL_MS: '200' },
      yaml: `auth:\n  mode: keys\n  keys:\n    - { name: boot, key_sha256: ${createHash('sha256').update(STATIC_KEY).digest('hex')}, user_id: ops }\n`,
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await proxy?.close();
    await db?.drop();
  });

  const status = async (key: string) => {
    const res = await postJson(
      `${gw.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage() },
      { authorization: `Bearer ${key}` },
    );
    const body = await res.text();
    return { status: res.status, body };
  };

  test('loaded keys and config keys keep working; an unseen key gets 503; it works once the database is back', async () => {
    const created = await fetch(`${gw.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'known', user_id: 'u1' }),
    });
    assert.equal(created.status, 201);
    const known = ((await created.json()) as { key: string }).key;
    assert.equal((await status(known)).status, 200);

    // A key made elsewhere (another instance, the CLI) that this gateway has not seen yet.
    const direct = openDatabase(
      { url: db.url, dataDir: 'memory://' },
      { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
    );
    await direct.ready;
    const unseen = (
      await new KeyRepository(direct.db, systemClock).create(
        { name: 'unseen', userId: 'u2' },
        { actor: 'test' },
      )
    ).key;
    await direct.close();

    await proxy.cut();
    assert.equal((await status(known)).status, 200, 'loaded key served from memory');
    assert.equal((await status(STATIC_KEY)).status, 200, 'config key');
    const down = await status(unseen);
    assert.equal(down.status, 503, down.body);
    assert.match(down.body, /cannot be verified/);
    assert.equal((await status('sk-gw-garbage')).status, 503, 'no key is let in unverified');

    await proxy.restore();
    let after = 0;
    for (let i = 0; i < 100 && after !== 200; i++) {
      after = (await status(unseen)).status;
      if (after !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(after, 200, 'works again without a restart');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llm_dependency_errors_total\{dependency="database"\} [1-9]/);
  });

  test('the console answers 503 while the database is down, as the admin API does, and logs the request id', async () => {
    const signIn = () =>
      fetch(`${gw.url}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key: ADMIN }),
      });
    const opened = await signIn();
    assert.equal(opened.status, 201);
    const cookie = (opened.headers.get('set-cookie') ?? '').split(';')[0] as string;
    assert.equal((await fetch(`${gw.url}/console/session`, { headers: { cookie } })).status, 200);

    await proxy.cut();
    try {
      for (const res of [
        await fetch(`${gw.url}/console/session`, { headers: { cookie } }),
        await fetch(`${gw.url}/admin/stats`, { headers: { cookie } }),
        await signIn(),
      ]) {
        const body = (await res.json()) as { error: { type: string; code: string } };
        assert.equal(res.status, 503, JSON.stringify(body));
        assert.equal(body.error.code, 'service_unavailable');
        const id = res.headers.get('x-request-id');
        assert.ok(
          gw.logs.some((line) => line.includes(`"request_id":"${id}"`) && line.includes('database')),
          'a log line names the request id and the database',
        );
      }
    } finally {
      await proxy.restore();
    }
  });
});
