/**
 * Issue 16 follow-ups on PostgreSQL and a private Redis (so FLUSHDB touches no other test):
 * - budget counters Redis lost are seeded from the usage rollups: spend, FLUSHDB, and the next requests
 *   still see the spend and are refused over the total (team) and daily (key) budgets;
 * - org and team admin keys made through `POST /admin/keys` see only their subtree on every report route
 *   (`/admin/spend`, `/admin/costs/summary`, `/admin/costs/daily`, `/admin/requests`, `/admin/stats`,
 *   `/admin/audit`) over records made by real requests, get 403 asking for another team or organization,
 *   and 403 on global routes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import {
  createTestDatabase,
  type PrivateRedis,
  requireServices,
  startRedisServer,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';
import { adminCall, chatWith, created } from '../helpers/tenancy.js';

const skip = await requireServices('postgres', 'redis');
const ADMIN = 'admin-SECRET-followups-0123456789abcdef';
const MAX_TOKENS = 100;
const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: userMessage() } as ChatRequest;
const price = new PriceTable().priceOf('gpt-4o-mini');
assert.ok(price);
const prompt = reservedPromptTokens(body);
const worst = reservationMicros(price, prompt, MAX_TOKENS);
/** USD a little over `n` requests' worth (every request costs `worst`). */
const budgetFor = (n: number) => (n * worst + 1) / 1e6;

describe('tenancy follow-ups (PostgreSQL + Redis)', { skip }, () => {
  let db: TestDatabase;
  let mock: MockUpstream;
  let redis: PrivateRedis;
  let raw: Redis;
  let gw: TestGateway;

  before(async () => {
    db = await createTestDatabase('followups');
    redis = await startRedisServer();
    raw = new Redis(redis.url);
    mock = await MockUpstream.start();
    // Every request spends exactly its reservation's worth (the mock reports the worst case).
    mock.setAnswer({ usage: { prompt, completion: MAX_TOKENS, cached: 0 } });
    gw = await startGateway({
      mock,
      env: {
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: uniquePrefix('followups'),
        GATEWAY_ADMIN_KEY: ADMIN,
        AUTH_REFRESH_INTERVAL_MS: '200',
        USAGE_ENABLED: 'true',
        USAGE_FLUSH_INTERVAL_MS: '20',
        // Tier buckets on (out of reach), so the rate-limit view has them to show.
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_CAPACITY: '1000',
      },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    raw?.disconnect();
    await redis?.close();
    await db?.drop();
  });

  const spendOf = async (filter: string) => {
    const res = await adminCall(gw, ADMIN, 'GET', `/admin/spend?${filter}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const rows = res.body.data as Array<{ requests: number }>;
    return rows.reduce((n, r) => n + r.requests, 0);
  };

  test('after FLUSHDB the counters are seeded from the rollups: total and daily budgets still refuse', async () => {
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'seeded', total_budget_usd: budgetFor(3) });
    const k1 = await created(gw, ADMIN, '/admin/keys', { name: 'k1', team_id: team.id });
    const k2 = await created(gw, ADMIN, '/admin/keys', {
      name: 'k2',
      user_id: 'solo',
      daily_budget_usd: budgetFor(2),
    });
    for (const key of [k1.key, k1.key, k2.key, k2.key]) {
      assert.equal((await chatWith(gw, key, { max_tokens: MAX_TOKENS })).status, 200);
    }
    // The spend reached the rollups (the batch writer runs every 20 ms).
    await until(
      'team records',
      () => spendOf(`team_id=${team.id}`),
      (n) => n === 2,
    );
    await until(
      'key records',
      () => spendOf(`key_id=${k2.id}&group_by=key`),
      (n) => n === 2,
    );
    assert.ok((await raw.dbsize()) > 0);
    await raw.flushdb();

    // The team's total budget holds one more request, not three.
    assert.equal((await chatWith(gw, k1.key, { max_tokens: MAX_TOKENS })).status, 200);
    const team4 = await chatWith(gw, k1.key, { max_tokens: MAX_TOKENS });
    assert.equal(team4.status, 429);
    assert.equal(team4.error?.code, 'budget_exceeded');
    assert.equal(team4.error?.param, 'team');
    // The key's daily budget is used up already.
    const key3 = await chatWith(gw, k2.key, { max_tokens: MAX_TOKENS });
    assert.equal(key3.status, 429);
    assert.equal(key3.error?.param, 'key');
  });

  test('org and team admins see only their subtree on every report; other tenants and global routes are 403', async () => {
    const orgA = await created(gw, ADMIN, '/admin/orgs', { name: 'org-a' });
    const orgB = await created(gw, ADMIN, '/admin/orgs', { name: 'org-b' });
    const t1 = await created(gw, ADMIN, '/admin/teams', { name: 't1', org_id: orgA.id });
    const t2 = await created(gw, ADMIN, '/admin/teams', { name: 't2', org_id: orgA.id });
    const t3 = await created(gw, ADMIN, '/admin/teams', { name: 't3', org_id: orgB.id });
    const u1 = await created(gw, ADMIN, '/admin/keys', { name: 'u1', team_id: t1.id });
    const u2 = await created(gw, ADMIN, '/admin/keys', { name: 'u2', team_id: t2.id });
    const u3 = await created(gw, ADMIN, '/admin/keys', { name: 'u3', team_id: t3.id });
    const orgAdmin = await created(gw, ADMIN, '/admin/keys', {
      name: 'a-admin',
      org_id: orgA.id,
      role: 'org_admin',
    });
    const teamAdmin = await created(gw, ADMIN, '/admin/keys', {
      name: 't1-lead',
      team_id: t1.id,
      role: 'team_admin',
    });
    for (const key of [u1.key, u2.key, u2.key, u3.key]) {
      assert.equal((await chatWith(gw, key, { max_tokens: MAX_TOKENS })).status, 200);
    }
    await until(
      'records of org A',
      () => spendOf(`org_id=${orgA.id}`),
      (n) => n === 3,
    );
    await until(
      'records of org B',
      () => spendOf(`org_id=${orgB.id}`),
      (n) => n === 1,
    );

    const get = async (token: string, path: string) => {
      const res = await adminCall(gw, token, 'GET', path);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      return res.body as Record<string, unknown> & { data: Array<Record<string, unknown>> };
    };
    const views = [
      { who: 'team admin', token: teamAdmin.key, teams: [t1.id], keys: [u1.id], requests: 1 },
      { who: 'org admin', token: orgAdmin.key, teams: [t1.id, t2.id], keys: [u1.id, u2.id], requests: 3 },
    ];
    for (const v of views) {
      const spend = await get(v.token, '/admin/spend?group_by=team');
      assert.deepEqual(
        spend.data.map((r) => r.team_id).sort(),
        [...v.teams].sort(),
        `${v.who}: /admin/spend`,
      );
      const summary = await get(v.token, '/admin/costs/summary');
      assert.equal(summary.request_count, v.requests, `${v.who}: /admin/costs/summary`);
      // Each request costs its reservation (± a micro-dollar of rounding).
      assert.ok(Math.abs(Number(summary.total_cost) - (v.requests * worst) / 1e6) <= v.requests * 2e-6);
      const daily = await get(v.token, '/admin/costs/daily');
      const dailyRequests = daily.data.reduce((n, d) => n + Number(d.request_count), 0);
      assert.equal(dailyRequests, v.requests, `${v.who}: /admin/costs/daily`);
      const log = await get(v.token, '/admin/requests?limit=100');
      assert.deepEqual(
        [...new Set(log.data.map((r) => r.api_key_id))].sort(),
        [...v.keys].sort(),
        `${v.who}: /admin/requests`,
      );
      const stats = await get(v.token, '/admin/stats');
      assert.equal((stats.totals as { requests: number }).requests, v.requests, `${v.who}: /admin/stats`);
      const audit = await get(v.token, '/admin/audit?limit=1000');
      assert.ok(audit.data.length > 0, `${v.who}: its own audit entries`);
      for (const entry of audit.data) {
        assert.ok(v.teams.includes(String(entry.team_id)) || entry.org_id === orgA.id, JSON.stringify(entry));
        if (v.who === 'team admin') assert.equal(entry.team_id, t1.id);
      }
    }
    // Filters inside one's own subtree are fine.
    assert.equal((await get(orgAdmin.key, `/admin/spend?team_id=${t2.id}`)).data[0]?.requests, 2);
    assert.equal((await get(teamAdmin.key, `/admin/spend?key_id=${u1.id}`)).data[0]?.requests, 1);
    assert.equal((await get(orgAdmin.key, `/admin/requests?api_key_id=${u2.id}`)).data.length, 2);
    // The global admin sees every team of both organizations.
    const all = await get(ADMIN, `/admin/spend?group_by=org`);
    assert.ok(all.data.some((r) => r.org_id === orgB.id));

    const forbidden: Array<[string, string, string]> = [
      [teamAdmin.key, 'GET', `/admin/spend?team_id=${t2.id}`],
      [teamAdmin.key, 'GET', `/admin/spend?org_id=${orgB.id}`],
      [orgAdmin.key, 'GET', `/admin/spend?org_id=${orgB.id}`],
      [orgAdmin.key, 'GET', `/admin/spend?team_id=${t3.id}`],
      [orgAdmin.key, 'GET', `/admin/spend?key_id=${u3.id}`],
      [teamAdmin.key, 'GET', `/admin/spend?key_id=${u2.id}`],
      // The request log's key filter too: not an empty page that looks like no traffic (decision 0211).
      [orgAdmin.key, 'GET', `/admin/requests?api_key_id=${u3.id}`],
      [teamAdmin.key, 'GET', `/admin/requests?api_key_id=${u2.id}`],
      [teamAdmin.key, 'GET', `/admin/keys?team_id=${t2.id}`],
      [orgAdmin.key, 'GET', `/admin/teams/${t3.id}`],
    ];
    for (const token of [teamAdmin.key, orgAdmin.key]) {
      forbidden.push(
        [token, 'GET', '/admin/config'],
        [token, 'DELETE', '/admin/cache'],
        [token, 'GET', '/admin/prompts'],
        [token, 'POST', '/admin/orgs'],
      );
    }
    for (const [token, method, path] of forbidden) {
      const res = await adminCall(gw, token, method, path, method === 'POST' ? { name: 'x' } : undefined);
      assert.equal(res.status, 403, `${method} ${path} as ${token === teamAdmin.key ? 'team' : 'org'} admin`);
    }
  });

  test('GET /admin/ratelimit/:user_id?key_id= shows the level buckets of a key (org, team, key, end user)', async () => {
    const org = await created(gw, ADMIN, '/admin/orgs', { name: 'rl-org', rpm_limit: 50 });
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'rl', org_id: org.id, rpm_limit: 5 });
    const key = await created(gw, ADMIN, '/admin/keys', {
      name: 'rl-key',
      team_id: team.id,
      rpm_limit: 3,
      allow_end_users: true,
      end_user_limits: { rpm_limit: 2 },
    });
    for (let i = 0; i < 2; i++) {
      assert.equal((await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'alice' })).status, 200);
    }
    const res = await adminCall(gw, ADMIN, 'GET', `/admin/ratelimit/alice?key_id=${key.id}&end_user=alice`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const levels = res.body.levels as Array<{
      level: string;
      id: string;
      rpm: { tokens: number; capacity: number };
    }>;
    const left = Object.fromEntries(
      levels.map((l) => [l.level, [l.id, Math.floor(l.rpm.tokens), l.rpm.capacity]]),
    );
    assert.deepEqual(left, {
      org: [org.id, 48, 50],
      team: [team.id, 3, 5],
      key: [key.id, 1, 3],
      user: ['alice', 0, 2],
    });
    // The tier's bucket shown is the one the key's requests charged (under the organization's hash tag).
    assert.equal(res.body.hash_tag, `o:${org.id}`);
    assert.equal(Math.floor(res.body.tokens as number), 998);
    assert.equal(res.body.capacity, 1000);
    // Reading charged nothing: the end user's third request is refused by its own bucket.
    const third = await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'alice' });
    assert.equal(third.status, 429);
    assert.equal(third.error?.param, 'user');
    const unknown = await adminCall(gw, ADMIN, 'GET', '/admin/ratelimit/alice?key_id=key_nope');
    assert.equal(unknown.status, 404);
  });

  test("tenant admins grant rate-limit tiers up to their own key's, never above (create, PATCH)", async () => {
    const org = await created(gw, ADMIN, '/admin/orgs', { name: 'tiers' });
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'tiers-team', org_id: org.id });
    const lead = await created(gw, ADMIN, '/admin/keys', {
      name: 'lead',
      team_id: team.id,
      role: 'team_admin',
    });
    const orgLead = await created(gw, ADMIN, '/admin/keys', {
      name: 'org lead',
      org_id: org.id,
      role: 'org_admin',
      tier: 'pro',
    });
    // The team admin's key is on the default tier (free): it cannot hand out pro or enterprise.
    for (const tier of ['pro', 'enterprise']) {
      const res = await adminCall(gw, lead.key, 'POST', '/admin/keys', { name: `up ${tier}`, tier });
      assert.equal(res.status, 403, tier);
      assert.match(String((res.body.error as { message: string }).message), /up to its own \("free"\)/);
    }
    const made = await created(gw, lead.key, '/admin/keys', { name: 'free one', tier: 'free' });
    const patched = await adminCall(gw, lead.key, 'PATCH', `/admin/keys/${made.id}`, { tier: 'enterprise' });
    assert.equal(patched.status, 403);
    // Its own key is no way round: raising itself is refused too.
    assert.equal(
      (await adminCall(gw, lead.key, 'PATCH', `/admin/keys/${lead.id}`, { tier: 'pro' })).status,
      403,
    );
    // The org admin on pro grants pro, not enterprise; the global admin grants anything.
    assert.equal(
      (await adminCall(gw, orgLead.key, 'PATCH', `/admin/keys/${made.id}`, { tier: 'pro' })).status,
      200,
    );
    assert.equal(
      (await adminCall(gw, orgLead.key, 'PATCH', `/admin/keys/${made.id}`, { tier: 'enterprise' })).status,
      403,
    );
    assert.equal(
      (await adminCall(gw, ADMIN, 'PATCH', `/admin/keys/${made.id}`, { tier: 'enterprise' })).status,
      200,
    );
    // Lowering is always allowed within the subtree.
    assert.equal(
      (await adminCall(gw, lead.key, 'PATCH', `/admin/keys/${made.id}`, { tier: 'free' })).status,
      200,
    );
  });
});

describe('a Redis that restarted empty after an outage: the counters are seeded, not rebuilt from one instance', {
  skip,
}, () => {
  let db: TestDatabase;
  let mock: MockUpstream;
  let redis: PrivateRedis;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    db = await createTestDatabase('outage_seed');
    redis = await startRedisServer();
    mock = await MockUpstream.start();
    mock.setAnswer({ usage: { prompt, completion: MAX_TOKENS, cached: 0 } });
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('outage_seed'),
      REDIS_BREAKER_COOLDOWN_MS: '200',
      GATEWAY_ADMIN_KEY: ADMIN,
      AUTH_REFRESH_INTERVAL_MS: '200',
      USAGE_ENABLED: 'true',
      USAGE_FLUSH_INTERVAL_MS: '20',
      // Each instance may spend all that it last saw left while Redis is away.
      BUDGET_OUTAGE_SHARE: '1',
      CACHE_ENABLED: 'false',
    };
    a = await startGateway({ mock, env });
    b = await startGateway({ mock, env });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await mock?.close();
    await redis?.close();
    await db?.drop();
  });

  const recorded = async (teamId: string) => {
    const res = await adminCall(a, ADMIN, 'GET', `/admin/spend?team_id=${teamId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body.data as Array<{ requests: number }>).reduce((n, r) => n + r.requests, 0);
  };

  test('spend before the outage (seen by the other instance) and during it both count once Redis is back', {
    timeout: 60_000,
  }, async () => {
    const team = await created(a, ADMIN, '/admin/teams', { name: 'outage', total_budget_usd: budgetFor(4) });
    const key = await created(a, ADMIN, '/admin/keys', { name: 'k', team_id: team.id });
    const models = () => fetch(`${b.url}/v1/models`, { headers: { authorization: `Bearer ${key.key}` } });
    await until(
      'the key on instance B',
      async () => (await models()).status,
      (s) => s === 200,
    );
    // Instance A sees the first request's spend; B spends the next two (A never reads them back).
    assert.equal((await chatWith(a, key.key, { max_tokens: MAX_TOKENS })).status, 200);
    for (const gw of [b, b])
      assert.equal((await chatWith(gw, key.key, { max_tokens: MAX_TOKENS })).status, 200);
    await until(
      'three requests recorded',
      () => recorded(team.id),
      (n) => n === 3,
    );

    await redis.stop();
    // During the outage A decides alone: its last view (one request of four) leaves room.
    assert.equal((await chatWith(a, key.key, { max_tokens: MAX_TOKENS })).status, 200);
    await until(
      'the outage request recorded',
      () => recorded(team.id),
      (n) => n === 4,
    );

    // Redis comes back empty; A's breaker closes and its outage spend is synced.
    await redis.start();
    const store = a.gateway.stores.redis;
    assert.ok(store);
    await until(
      'the breaker to close',
      async () => store.available(),
      (up) => up,
    );
    await until(
      'the outage spend synced',
      async () => (await (await fetch(`${a.url}/metrics`)).text()).includes('result="synced"'),
      (synced) => synced,
    );

    // The budget holds four requests: every instance refuses the fifth.
    for (const gw of [a, b]) {
      const res = await chatWith(gw, key.key, { max_tokens: MAX_TOKENS });
      assert.equal(res.status, 429, `the fifth request must be refused (${gw === a ? 'A' : 'B'})`);
      assert.equal(res.error?.code, 'budget_exceeded');
    }
  });
});
