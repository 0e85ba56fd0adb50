/**
 * Database API keys on PostgreSQL with two gateway instances: created by the admin API (shown once, stored
 * as a hash), usable at once on an instance that never saw it, scoped to models (403), revoked / expired /
 * unknown → 401 (revocation reaches the other instance within its refresh interval), rotated with a grace
 * period, last use recorded, every admin action in audit_log without the secret.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { KeyStore } from '../../src/auth/key-store.js';
import { loadConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/stores/database.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');
const ADMIN = 'admin-SECRET-keys-0123456789abcdef';

interface Created {
  id: string;
  key: string;
  key_prefix: string;
  user_id: string;
  expires_at: string | null;
  previous?: { id: string; expires_at: string };
}

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('API keys in PostgreSQL', { skip }, () => {
  let db: TestDatabase;
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;
  const secrets: string[] = [];

  const admin = async (gw: TestGateway, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const create = async (body: Record<string, unknown>, gw = a) => {
    const res = await admin(gw, 'POST', '/admin/keys', body);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const created = res.body as unknown as Created;
    secrets.push(created.key);
    return created;
  };
  const chat = (gw: TestGateway, key: string, model = 'gpt-4o-mini') =>
    postJson(
      `${gw.url}/v1/chat/completions`,
      { model, messages: userMessage() },
      { authorization: `Bearer ${key}` },
    );
  const status = async (gw: TestGateway, key: string, model?: string) => {
    const res = await chat(gw, key, model);
    await res.text();
    return res.status;
  };

  before(async () => {
    db = await createTestDatabase('keys');
    mock = await MockUpstream.start();
    const env = { DATABASE_URL: db.url, GATEWAY_ADMIN_KEY: ADMIN, AUTH_REFRESH_INTERVAL_MS: '200' };
    a = await startGateway({ mock, env });
    b = await startGateway({ mock, env });
    assert.equal(a.gateway.config.auth.mode, 'keys', 'GATEWAY_ADMIN_KEY turns keys on');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await db?.drop();
  });

  test('a created key is shown once (sk-gw-…), works on this instance and at once on another', async () => {
    const k = await create({ name: 'ci', user_id: 'alice', tier: 'pro' });
    assert.match(k.key, /^sk-gw-[\w-]{43}$/);
    assert.equal(k.key_prefix, k.key.slice(0, 12));
    assert.equal(await status(a, k.key), 200);
    assert.equal(await status(b, k.key), 200, 'B looks the unknown hash up once');
    const listed = await admin(a, 'GET', '/admin/keys?user_id=alice');
    const text = JSON.stringify(listed.body);
    assert.ok(text.includes(k.id) && !text.includes(k.key), 'listed without the secret');
    assert.doesNotMatch(text, /key_hash/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const row = await client.query('select key_hash from api_keys where id = $1', [k.id]);
    await client.end();
    assert.match(row.rows[0].key_hash, /^[0-9a-f]{64}$/, 'stored as a SHA-256 hash');
  });

  test('unknown, malformed and missing keys → 401', async () => {
    assert.equal(await status(a, 'sk-gw-unknown-key-0000000000000000000000000000000'), 401);
    assert.equal(
      await status(a, 'sk-gw-unknown-key-0000000000000000000000000000000'),
      401,
      'negative-cached',
    );
    const none = await postJson(`${a.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { type: string } }).error.type, 'authentication_error');
  });

  test('a model outside the key scope → 403', async () => {
    const k = await create({ name: 'scoped', user_id: 'bob', allowed_models: ['gpt-4o-mini'] });
    assert.equal(await status(a, k.key, 'gpt-4o-mini'), 200);
    const res = await chat(a, k.key, 'gpt-4o');
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'permission_error');
  });

  test('an expired key → 401', async () => {
    const k = await create({ name: 'old', user_id: 'carol', expires_at: '2020-01-01T00:00:00Z' });
    const res = await chat(a, k.key);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /expired/);
  });

  test('revocation: 401 at once on the instance that revoked, within the refresh interval on the other', async () => {
    const k = await create({ name: 'doomed', user_id: 'dave' });
    assert.equal(await status(a, k.key), 200);
    assert.equal(await status(b, k.key), 200);
    const revoked = await admin(a, 'DELETE', `/admin/keys/${k.id}`);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revoked_at);
    const res = await chat(a, k.key);
    assert.equal(res.status, 401);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /revoked/);
    assert.ok(await until(async () => (await status(b, k.key)) === 401), 'B sees the revocation');
  });

  test('rotation: a new key at once, the old one valid for the grace period (then expired)', async () => {
    const k = await create({ name: 'rotating', user_id: 'erin', allowed_models: ['gpt-4o-mini'] });
    const rotated = await admin(a, 'POST', `/admin/keys/${k.id}/rotate`, { grace_period_seconds: 3600 });
    assert.equal(rotated.status, 201);
    const fresh = rotated.body as unknown as Created;
    secrets.push(fresh.key);
    assert.notEqual(fresh.key, k.key);
    assert.equal(fresh.user_id, 'erin');
    assert.equal((rotated.body.allowed_models as string[])[0], 'gpt-4o-mini', 'same scope');
    assert.equal(await status(b, fresh.key), 200);
    assert.equal(await status(a, k.key), 200, 'old key still valid in the grace period');
    const grace = Date.parse(fresh.previous?.expires_at ?? '') - a.gateway.clock.wallNow();
    assert.ok(grace > 3_500_000 && grace <= 3_600_000, `grace ${grace}`);

    const again = await admin(a, 'POST', `/admin/keys/${fresh.id}/rotate`, { grace_period_seconds: 0 });
    secrets.push((again.body as unknown as Created).key);
    assert.equal(await status(a, fresh.key), 401, 'grace 0: the old key ends now');
  });

  test('principal: key id (not the secret), tier and budgets from the row; last use written back', async () => {
    const k = await create({
      name: 'budgeted',
      user_id: 'frank',
      tier: 'pro',
      daily_budget_usd: 5,
      monthly_budget_usd: 100.5,
    });
    const config = loadConfig({ env: { DATABASE_URL: db.url, GATEWAY_ADMIN_KEY: ADMIN } });
    const database = openDatabase(
      { url: db.url, dataDir: 'memory://' },
      { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
    );
    const store = new KeyStore({
      auth: config.auth,
      logger: createLogger({ level: 'silent' }),
      metrics: createMetrics(),
      database: () => database,
    });
    try {
      await store.start();
      const principal = await store.authenticate({
        authorization: `Bearer ${k.key}`,
        userIdHeader: undefined,
      });
      assert.equal(principal.keyId, k.id);
      assert.equal(principal.userId, 'frank');
      assert.equal(principal.tier, 'pro');
      assert.deepEqual(principal.budgets, { dailyUsd: 5, monthlyUsd: 100.5 });
      assert.equal(principal.allowedModels, null);
      // Loaded keys are answered from memory: a second call is not a promise.
      assert.ok(
        !(
          store.authenticate({ authorization: `Bearer ${k.key}`, userIdHeader: undefined }) instanceof Promise
        ),
      );
    } finally {
      await store.close();
      await database.close();
    }
    assert.equal(await status(a, k.key), 200);
    assert.ok(
      await until(async () => (await admin(a, 'GET', `/admin/keys/${k.id}`)).body.last_used_at !== null),
      'last_used_at is written within the refresh interval',
    );
  });

  test('audit_log has create, revoke and rotate rows with actor and target, never a secret', async () => {
    const audit = await admin(a, 'GET', '/admin/audit?limit=100');
    assert.equal(audit.status, 200);
    const rows = audit.body.data as Array<{ actor: string; action: string; target: string }>;
    const actions = new Set(rows.map((r) => r.action));
    for (const action of ['key.create', 'key.revoke', 'key.rotate']) assert.ok(actions.has(action), action);
    assert.ok(rows.every((r) => r.actor.startsWith('admin@') && r.target.startsWith('key_')));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const all = JSON.stringify((await client.query('select * from audit_log')).rows);
    const hashes = JSON.stringify((await client.query('select key_hash from api_keys')).rows);
    await client.end();
    assert.ok(secrets.length >= 6);
    for (const secret of secrets)
      assert.ok(!all.includes(secret) && !all.includes(secret.slice(12)), 'no secret');
    for (const hash of hashes.match(/[0-9a-f]{64}/g) ?? []) assert.ok(!all.includes(hash), 'no hash either');
    for (const line of [...a.logs, ...b.logs])
      for (const s of secrets) assert.ok(!line.includes(s), 'no secret in logs');
  });
});
