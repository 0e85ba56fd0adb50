/**
 * Admin API guard and input validation: every admin route answers 401 without (or with a wrong) admin key;
 * bad bodies get 422 naming the field; unknown key ids 404. Runs on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');
const ADMIN = 'admin-SECRET-admin-test-0123456789';

const ROUTES: Array<[string, string]> = [
  ['POST', '/admin/keys'],
  ['GET', '/admin/keys'],
  ['GET', '/admin/keys/key_x'],
  ['DELETE', '/admin/keys/key_x'],
  ['POST', '/admin/keys/key_x/revoke'],
  ['POST', '/admin/keys/key_x/rotate'],
  ['GET', '/admin/audit'],
  ['GET', '/admin/ratelimit/alice'],
];

describe('admin API', { skip }, () => {
  let db: TestDatabase;
  let mock: MockUpstream;
  let gw: TestGateway;
  const call = async (method: string, path: string, body?: unknown, key: string | null = ADMIN) => {
    const headers: Record<string, string> = {};
    if (key !== null) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gw.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { error?: { param: string | null; message: string; type: string } },
    };
  };

  before(async () => {
    db = await createTestDatabase('admin');
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, env: { DATABASE_URL: db.url, GATEWAY_ADMIN_KEY: ADMIN } });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await db?.drop();
  });

  test('every admin route → 401 without the admin key or with a wrong one (a gateway key is not an admin key)', async () => {
    const created = await call('POST', '/admin/keys', { name: 'k', user_id: 'u' });
    assert.equal(created.status, 201);
    const gatewayKey = (created.body as unknown as { key: string }).key;
    for (const [method, path] of ROUTES) {
      const body = method === 'POST' ? {} : undefined;
      for (const key of [null, 'wrong-admin-key', gatewayKey]) {
        const res = await call(method, path, body, key);
        assert.equal(res.status, 401, `${method} ${path} with ${key}`);
        assert.equal(res.body.error?.type, 'authentication_error');
      }
    }
  });

  test('bad input → 422 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ user_id: 'u' }, 'name'],
      [{ name: 'k' }, 'user_id'],
      [{ name: 'k', user_id: 'has space' }, 'user_id'],
      [{ name: 'k', user_id: 'u', tier: 'platinum' }, 'tier'],
      [{ name: 'k', user_id: 'u', expires_at: 'tomorrow' }, 'expires_at'],
      [{ name: 'k', user_id: 'u', daily_budget_usd: -1 }, 'daily_budget_usd'],
      [{ name: 'k', user_id: 'u', allowed_models: 'gpt-4o' }, 'allowed_models'],
      [{ name: 'k', user_id: 'u', key: 'sk-gw-mine' }, 'key'],
    ];
    for (const [body, param] of cases) {
      const res = await call('POST', '/admin/keys', body);
      assert.equal(res.status, 422, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error?.param, param, JSON.stringify(res.body));
    }
    const rotate = await call('POST', '/admin/keys/key_x/rotate', { grace_period_seconds: -5 });
    assert.equal(rotate.status, 422);
    assert.equal(rotate.body.error?.param, 'grace_period_seconds');
    const limit = await call('GET', '/admin/audit?limit=abc');
    assert.equal(limit.status, 422);
    assert.equal(limit.body.error?.param, 'limit');
  });

  test('an out-of-range limit on every admin list → 422 naming the field and the range (audit G, F9)', async () => {
    const lists: Array<[string, number]> = [
      ['/admin/keys', 1000],
      ['/admin/audit', 1000],
      ['/admin/orgs', 1000],
      ['/admin/teams', 1000],
      ['/admin/requests', 200],
      ['/admin/evals/runs', 500],
    ];
    for (const [path, max] of lists) {
      for (const limit of ['0', '-1', String(max + 1), '5000', '2.5', 'abc', '1e3', '']) {
        const res = await call('GET', `${path}?limit=${limit}`);
        assert.equal(res.status, 422, `${path}?limit=${limit} → ${JSON.stringify(res.body)}`);
        assert.deepEqual(res.body.error && { ...res.body.error }, {
          message: `limit must be an integer from 1 to ${max}.`,
          type: 'invalid_request_error',
          param: 'limit',
          code: 'invalid_request',
        });
      }
      for (const limit of ['1', String(max)]) {
        assert.equal((await call('GET', `${path}?limit=${limit}`)).status, 200, `${path}?limit=${limit}`);
      }
    }
  });

  test('unknown key ids → 404; rotating a revoked key → 400', async () => {
    for (const [method, path] of ROUTES.filter(([, p]) => p.includes('key_x'))) {
      const res = await call(method, path, method === 'POST' ? {} : undefined);
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const k = await call('POST', '/admin/keys', { name: 'r', user_id: 'u2' });
    const id = (k.body as unknown as { id: string }).id;
    // Rotation without a body: the default grace period (24 h) for the old key.
    const rotated = await fetch(`${gw.url}/admin/keys/${id}/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(rotated.status, 201);
    const previous = ((await rotated.json()) as { previous: { expires_at: string } }).previous;
    const grace = Date.parse(previous.expires_at) - gw.gateway.clock.wallNow();
    assert.ok(grace > 86_000_000 && grace <= 86_400_000, `grace ${grace}`);
    assert.equal((await call('POST', `/admin/keys/${id}/revoke`, {})).status, 200);
    const again = await call('POST', `/admin/keys/${id}/rotate`, {});
    assert.equal(again.status, 400);
    assert.match(again.body.error?.message ?? '', /revoked/);
  });
});
