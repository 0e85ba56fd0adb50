/**
 * The admin endpoints the console uses (request log, stats) and the console's sessions: sign-in with the
 * admin key, the HttpOnly/SameSite=Strict cookie, the CSRF token on calls that change something, sign-out.
 * On the embedded database (PGlite) with a fixed calendar date.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { requestLog } from '../../src/accounting/request-log.js';
import { stats, statsWindow } from '../../src/accounting/stats.js';
import { GLOBAL_ADMIN } from '../../src/core/feature.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const ADMIN = 'admin-SECRET-console-0123456789';
const MIN = 60_000;

interface LogPage {
  data: Array<Record<string, unknown>>;
  next_cursor: string | null;
}

describe('console API', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  const clock = fakeClock();
  let now: number;

  const admin = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${gw.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string>) },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const row = (i: number, at: number, extra: Record<string, unknown> = {}) => ({
    timestamp: new Date(at),
    request_id: `req-${String(i).padStart(3, '0')}`,
    user_id: i % 2 === 0 ? 'alice' : 'bob',
    api_key_id: null,
    model: i % 3 === 0 ? 'claude-haiku-4-5' : 'gpt-4o-mini',
    provider: i % 3 === 0 ? 'anthropic' : 'openai',
    route: i % 3 === 0 ? 'claude-haiku-4-5' : 'fast',
    input_tokens: 10,
    output_tokens: 5,
    cached_input_tokens: 0,
    cost_usd: '0.001000',
    cached: false,
    cache_type: null,
    saved_usd: '0',
    latency_ms: 100 * (i + 1),
    status: 'success',
    http_status: 200,
    estimated: false,
    stream: false,
    prompt_name: null,
    prompt_version: null,
    ...extra,
  });

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      clock,
      env: { USAGE_ENABLED: 'true', GATEWAY_ADMIN_KEY: ADMIN },
    });
    const database = gw.gateway.stores.database();
    await database.ready;
    now = clock.wallNow();
    // Ten records in the last hour (one a minute apart, all at the same second for two of them), an error,
    // a cached answer, and one from the day before (outside every window below).
    // The first three belong to organization org_1: two to its team team_1, one to team_2.
    const tenancy = (i: number) =>
      i < 3 ? { org_id: 'org_1', team_id: i < 2 ? 'team_1' : 'team_2' } : { org_id: null, team_id: null };
    const rows = Array.from({ length: 10 }, (_, i) => row(i, now - (i + 1) * 5 * MIN, tenancy(i)));
    rows.push(row(10, now - 5 * MIN)); // same timestamp as req-000: the cursor must still see both
    rows.push(row(11, now - 7 * MIN, { status: 'error', http_status: 502, cost_usd: null }));
    rows.push(
      row(12, now - 8 * MIN, { cached: true, cache_type: 'exact', cost_usd: '0', saved_usd: '0.002' }),
    );
    rows.push(row(13, now - 26 * 60 * MIN));
    await database.db.insertInto('usage_records').values(rows).execute();
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test('GET /admin/requests pages through every record once, newest first, with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await admin(`/admin/requests?limit=4${q}`);
      assert.equal(page.status, 200);
      const body = page.body as unknown as LogPage;
      assert.ok(body.data.length <= 4);
      seen.push(...body.data.map((r) => r.request_id as string));
      cursor = body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    assert.equal(seen.length, 14);
    assert.equal(new Set(seen).size, 14);
    assert.equal(pages, 4);
    assert.deepEqual(seen.slice(-1), ['req-013']); // the oldest last
    const first = (await admin('/admin/requests?limit=1')).body as unknown as LogPage;
    const newest = first.data[0] as Record<string, unknown>;
    assert.ok(['req-000', 'req-010'].includes(newest.request_id as string));
    assert.equal(newest.route, 'fast');
    assert.equal(newest.model, 'gpt-4o-mini');
    assert.equal(newest.cost_usd, 0.001);
    assert.equal(typeof newest.timestamp, 'string');
  });

  test('GET /admin/requests filters by status, model, cached and date', async () => {
    const errors = (await admin('/admin/requests?status=error')).body as unknown as LogPage;
    assert.deepEqual(
      errors.data.map((r) => [r.request_id, r.http_status, r.cost_usd]),
      [['req-011', 502, null]],
    );
    const claude = (await admin('/admin/requests?model=claude-haiku-4-5')).body as unknown as LogPage;
    assert.deepEqual(claude.data.map((r) => r.request_id).sort(), [
      'req-000',
      'req-003',
      'req-006',
      'req-009',
      'req-012',
    ]);
    const cached = (await admin('/admin/requests?cached=true')).body as unknown as LogPage;
    assert.deepEqual(
      cached.data.map((r) => r.request_id),
      ['req-012'],
    );
    const old = new Date(now - 25 * 60 * MIN).toISOString();
    const recent = (await admin(`/admin/requests?start_date=${old}&limit=200`)).body as unknown as LogPage;
    assert.equal(recent.data.length, 13);
  });

  test('org and team admins see only their own subtree of the usage records', async () => {
    const database = gw.gateway.stores.database();
    const window = statsWindow({ hours: '2' }, now);
    const cases = [
      [
        { role: 'org_admin', keyId: 'key_x', orgId: 'org_1', teamId: null },
        ['req-000', 'req-001', 'req-002'],
      ],
      [{ role: 'team_admin', keyId: 'key_y', orgId: 'org_1', teamId: 'team_1' }, ['req-000', 'req-001']],
      [{ role: 'team_admin', keyId: 'key_z', orgId: 'org_1', teamId: 'team_2' }, ['req-002']],
      [{ role: 'org_admin', keyId: 'key_w', orgId: 'org_2', teamId: null }, []],
    ] as const;
    for (const [actor, ids] of cases) {
      const page = await requestLog(database, actor, {}, now);
      assert.deepEqual(
        page.data.map((r) => r.request_id).sort(),
        [...ids],
        `${actor.role} ${actor.teamId ?? actor.orgId}`,
      );
      assert.equal((await stats(database, actor, window, now)).totals.requests, ids.length, actor.role);
    }
    assert.equal((await requestLog(database, GLOBAL_ADMIN, {}, now)).data.length, 14);
  });

  test('GET /admin/requests refuses a made-up cursor or limit with a 422 naming it', async () => {
    const bad = await admin('/admin/requests?cursor=bm90LWEtY3Vyc29y');
    assert.equal(bad.status, 422);
    assert.equal((bad.body.error as { param: string }).param, 'cursor');
    // A timestamp the database cannot hold (year 0000) was a 500.
    const year0 = Buffer.from('0000-01-01T00:00:00.000Z|1').toString('base64url');
    assert.equal((await admin(`/admin/requests?cursor=${year0}`)).status, 422);
    assert.equal((await admin('/admin/requests?limit=0')).status, 422);
    assert.equal((await admin('/admin/requests?limit=201')).status, 422);
    assert.equal((await admin('/admin/requests?status=nope')).status, 422);
  });

  test('GET /admin/stats buckets the window (empty buckets included) and sums today', async () => {
    const res = await admin('/admin/stats?hours=2&bucket_seconds=600');
    assert.equal(res.status, 200);
    const body = res.body as {
      bucket_seconds: number;
      buckets: Array<{ start: string; requests: number; errors: number; cached: number }>;
      totals: Record<string, number>;
      today: Record<string, unknown>;
    };
    assert.equal(body.bucket_seconds, 600);
    // 2 h of 10-minute buckets, the first aligned below the window start: 12 or 13 buckets.
    assert.ok(body.buckets.length >= 12 && body.buckets.length <= 13, String(body.buckets.length));
    const starts = body.buckets.map((b) => Date.parse(b.start));
    for (let i = 1; i < starts.length; i++) assert.equal((starts[i] ?? 0) - (starts[i - 1] ?? 0), 600_000);
    assert.equal(body.totals.requests, 13);
    assert.equal(body.totals.errors, 1);
    assert.equal(body.totals.cached, 1);
    assert.equal(
      body.buckets.reduce((n, b) => n + b.requests, 0),
      13,
    );
    assert.equal(body.totals.cost_usd, 0.011);
    assert.equal(body.totals.saved_usd, 0.002);
    // Latencies 100, 200 … 1300 ms: the median of the 13 is the 7th; p95 interpolates 1240.
    assert.equal(body.totals.latency_p50_ms, 700);
    assert.equal(body.totals.latency_p95_ms, 1240);
    assert.deepEqual(body.today, { date: '2024-01-15', requests: 13, cost_usd: 0.011, saved_usd: 0.002 });
  });

  test('GET /admin/stats refuses windows it cannot draw', async () => {
    for (const q of ['hours=0', 'hours=721', 'bucket_seconds=5', 'hours=720&bucket_seconds=60', 'x=1']) {
      assert.equal((await admin(`/admin/stats?${q}`)).status, 422, q);
    }
  });

  test('the OpenAPI document describes the console endpoints', async () => {
    const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string }> }>>;
    };
    const names = (path: string) => (doc.paths[path]?.get?.parameters ?? []).map((p) => p.name);
    assert.ok(names('/admin/requests').includes('cursor'));
    assert.ok(names('/admin/stats').includes('bucket_seconds'));
    assert.ok(doc.paths['/console/session']?.post);
  });

  describe('sessions', () => {
    const signIn = async (key: string) =>
      fetch(`${gw.url}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
      });
    const withCookie = (cookie: string, init: RequestInit = {}) => ({
      ...init,
      headers: { cookie, ...(init.headers as Record<string, string>) },
    });

    test('a wrong key sets no cookie; the admin key sets an HttpOnly, SameSite=Strict session cookie', async () => {
      const wrong = await signIn('not-the-admin-key');
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get('set-cookie'), null);
      const ok = await signIn(ADMIN);
      assert.equal(ok.status, 201);
      const cookie = ok.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^gw_console=[A-Za-z0-9_-]{43}; /);
      for (const attr of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=28800']) {
        assert.ok(cookie.split('; ').includes(attr), `${attr} in ${cookie}`);
      }
      const body = (await ok.json()) as { actor: { role: string }; csrf_token: string };
      assert.equal(body.actor.role, 'admin');
      assert.ok(body.csrf_token.length >= 32);
      // The database holds a digest, never the cookie's value.
      const id = cookie.split(';')[0]?.split('=')[1] ?? '';
      const rows = await gw.gateway.stores.database().db.selectFrom('console_sessions').selectAll().execute();
      const hashes = rows.map((r) => r.id_hash);
      assert.ok(hashes.includes(createHash('sha256').update(id).digest('hex')));
      assert.ok(!JSON.stringify(rows).includes(id));
    });

    test('the cookie reads the admin API; changes need the CSRF token; signing out ends the session', async () => {
      const ok = await signIn(ADMIN);
      const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const { csrf_token: csrf } = (await ok.json()) as { csrf_token: string };

      const list = await fetch(`${gw.url}/admin/requests?limit=1`, withCookie(cookie));
      assert.equal(list.status, 200);
      const session = await fetch(`${gw.url}/console/session`, withCookie(cookie));
      assert.equal(((await session.json()) as { csrf_token: string }).csrf_token, csrf);

      const clear = (headers: Record<string, string>) =>
        fetch(`${gw.url}/admin/cache`, withCookie(cookie, { method: 'DELETE', headers }));
      const noToken = await clear({});
      assert.equal(noToken.status, 403);
      assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'csrf_token_invalid');
      // One character changed (never to the one it was: that would be the right token).
      const wrong = `${csrf.slice(0, -1)}${csrf.endsWith('x') ? 'y' : 'x'}`;
      assert.equal((await clear({ 'x-csrf-token': wrong })).status, 403);
      assert.equal((await clear({ 'x-csrf-token': csrf })).status, 200);

      const out = (headers: Record<string, string>) =>
        fetch(`${gw.url}/console/session`, withCookie(cookie, { method: 'DELETE', headers }));
      assert.equal((await out({})).status, 403);
      const signedOut = await out({ 'x-csrf-token': csrf });
      assert.equal(signedOut.status, 204);
      assert.match(signedOut.headers.get('set-cookie') ?? '', /^gw_console=; .*Max-Age=0/);
      const after = await fetch(`${gw.url}/admin/requests`, withCookie(cookie));
      assert.equal(after.status, 401);
      assert.match(((await after.json()) as { error: { message: string } }).error.message, /sign in again/);
      assert.equal((await fetch(`${gw.url}/console/session`, withCookie(cookie))).status, 401);
    });

    test('a made-up cookie or a gateway API key opens nothing', async () => {
      assert.equal((await fetch(`${gw.url}/admin/requests`, withCookie('gw_console=forged'))).status, 401);
      assert.equal((await fetch(`${gw.url}/admin/requests`)).status, 401);
      const created = await admin('/admin/keys', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'k', user_id: 'u' }),
      });
      assert.equal(created.status, 201);
      assert.equal((await signIn(created.body.key as string)).status, 401);
    });

    test('a session expires with its time', async () => {
      const ok = await signIn(ADMIN);
      const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      assert.equal((await fetch(`${gw.url}/admin/requests?limit=1`, withCookie(cookie))).status, 200);
      clock.advance(8 * 3_600_000 + 1);
      assert.equal((await fetch(`${gw.url}/admin/requests?limit=1`, withCookie(cookie))).status, 401);
    });
  });
});
