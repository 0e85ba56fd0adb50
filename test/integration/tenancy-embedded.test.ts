/**
 * Tenancy on the embedded defaults (memory limits and budgets, PGlite): a team budget shared by two keys
 * holds under concurrency, a team rpm limit refuses naming the team, and end users named by the `user`
 * field (or X-User-ID) each get the key's end-user limits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { adminCall, chatWith, created } from '../helpers/tenancy.js';

const ADMIN = 'admin-SECRET-embedded-tenancy-0123';
const MAX_TOKENS = 50;
const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: userMessage() } as ChatRequest;
const price = new PriceTable().priceOf('gpt-4o-mini');
assert.ok(price);
const prompt = reservedPromptTokens(body);
const worst = reservationMicros(price, prompt, MAX_TOKENS);

describe('tenancy on memory and PGlite', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    mock.setAnswer({ usage: { prompt, completion: MAX_TOKENS, cached: 0 } });
    gw = await startGateway({
      mock,
      // Each end user of a key without end_user_limits (nor its team's or org's) gets 2 requests a minute.
      env: { GATEWAY_ADMIN_KEY: ADMIN, GATEWAY_DATA_DIR: 'memory://', END_USER_DEFAULT_RPM: '2' },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test('a team budget shared by two keys holds under 30 concurrent requests', async () => {
    assert.equal(gw.gateway.stores.database().kind, 'pglite');
    const K = 4;
    const team = await created(gw, ADMIN, '/admin/teams', { name: 't', total_budget_usd: (K * worst) / 1e6 });
    const a = await created(gw, ADMIN, '/admin/keys', { name: 'a', team_id: team.id });
    const b = await created(gw, ADMIN, '/admin/keys', { name: 'b', team_id: team.id });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => chatWith(gw, i % 2 ? a.key : b.key, { max_tokens: MAX_TOKENS })),
    );
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, K);
    assert.ok(ok.reduce((s, r) => s + Math.round(r.cost * 1e6), 0) <= K * worst);
    const refused = results.find((r) => r.status === 429);
    assert.equal(refused?.error?.code, 'budget_exceeded');
    assert.equal(refused?.error?.param, 'team');
  });

  test('a team rpm limit refuses naming the team; a key limit names the key', async () => {
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'slow', rpm_limit: 2 });
    const k = await created(gw, ADMIN, '/admin/keys', { name: 'k', team_id: team.id });
    assert.equal((await chatWith(gw, k.key)).status, 200);
    assert.equal((await chatWith(gw, k.key)).status, 200);
    const third = await chatWith(gw, k.key);
    assert.equal(third.status, 429);
    assert.equal(third.error?.code, 'rate_limit_exceeded');
    assert.equal(third.error?.param, 'team');
    const solo = await created(gw, ADMIN, '/admin/keys', { name: 'solo', user_id: 'solo', rpm_limit: 1 });
    assert.equal((await chatWith(gw, solo.key)).status, 200);
    assert.equal((await chatWith(gw, solo.key)).error?.param, 'key');
  });

  test('end users named by the user field or X-User-ID each get the end-user limits', async () => {
    const inTeamKeyShape = `sk-gw-${'k'.repeat(43)}`;
    const k = await created(gw, ADMIN, '/admin/keys', {
      name: 'app',
      user_id: 'app',
      allow_end_users: true,
      end_user_limits: { rpm_limit: 1 },
    });
    assert.equal((await chatWith(gw, k.key, { user: 'alice' })).status, 200);
    const again = await chatWith(gw, k.key, { user: 'alice' });
    assert.equal(again.status, 429);
    assert.equal(again.error?.param, 'user');
    assert.equal(
      (await chatWith(gw, k.key, {}, { 'x-user-id': 'bob' })).status,
      200,
      'bob is another end user',
    );
    assert.equal((await chatWith(gw, k.key, { user: 'not valid!' })).status, 422);
    // Another key pasted as the end user is refused, not stored as a name (decision 0210).
    const pasted = await chatWith(gw, k.key, {}, { 'x-user-id': inTeamKeyShape });
    assert.equal(pasted.status, 422);
    assert.equal(pasted.error?.param, 'X-User-ID');
    // A team's end-user limits apply to its keys that have none; without any, the config default (2/min).
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'eu', end_user_limits: { rpm_limit: 1 } });
    const inTeam = await created(gw, ADMIN, '/admin/keys', {
      name: 'tk',
      team_id: team.id,
      allow_end_users: true,
    });
    assert.equal((await chatWith(gw, inTeam.key, { user: 'carol' })).status, 200);
    assert.equal((await chatWith(gw, inTeam.key, { user: 'carol' })).error?.param, 'user');
    const byDefault = await created(gw, ADMIN, '/admin/keys', {
      name: 'd',
      user_id: 'd',
      allow_end_users: true,
    });
    assert.equal((await chatWith(gw, byDefault.key, { user: 'dan' })).status, 200);
    assert.equal((await chatWith(gw, byDefault.key, { user: 'dan' })).status, 200);
    assert.equal((await chatWith(gw, byDefault.key, { user: 'dan' })).error?.param, 'user');
    // A key that may not name end users ignores the field: its own limits apply.
    const plain = await created(gw, ADMIN, '/admin/keys', { name: 'plain', user_id: 'p', rpm_limit: 1 });
    assert.equal((await chatWith(gw, plain.key, { user: 'x1' })).status, 200);
    assert.equal((await chatWith(gw, plain.key, { user: 'x2' })).error?.param, 'key');
  });

  test('lists are paginated with next_cursor and filtered', async () => {
    const team = await created(gw, ADMIN, '/admin/teams', { name: 'paged' });
    for (let i = 0; i < 3; i++) await created(gw, ADMIN, '/admin/keys', { name: `p${i}`, team_id: team.id });
    const first = await adminCall(gw, ADMIN, 'GET', `/admin/keys?team_id=${team.id}&limit=2`);
    assert.equal((first.body.data as unknown[]).length, 2);
    assert.equal(typeof first.body.next_cursor, 'string');
    const second = await adminCall(
      gw,
      ADMIN,
      'GET',
      `/admin/keys?team_id=${team.id}&limit=2&cursor=${first.body.next_cursor}`,
    );
    assert.equal((second.body.data as unknown[]).length, 1);
    assert.equal(second.body.next_cursor, null);
    const names = [
      ...(first.body.data as Array<{ name: string }>),
      ...(second.body.data as Array<{ name: string }>),
    ]
      .map((k) => k.name)
      .sort();
    assert.deepEqual(names, ['p0', 'p1', 'p2']);
    const teams = await adminCall(gw, ADMIN, 'GET', '/admin/teams?limit=1');
    assert.equal((teams.body.data as unknown[]).length, 1);
    assert.equal(typeof teams.body.next_cursor, 'string');
    // The OpenAPI document describes the tenancy endpoints with their bodies.
    const spec = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    for (const path of [
      '/admin/orgs',
      '/admin/orgs/{id}',
      '/admin/teams',
      '/admin/teams/{id}',
      '/admin/keys/{id}',
    ]) {
      assert.ok(spec.paths[path], `${path} in the OpenAPI document`);
    }
    assert.ok(
      spec.paths['/admin/keys/{id}']?.patch?.requestBody,
      'PATCH /admin/keys/{id} documents its body',
    );
    // Deleting a team with active keys is refused.
    assert.equal((await adminCall(gw, ADMIN, 'DELETE', `/admin/teams/${team.id}`)).status, 409);
    // The audit log pages through every entry once, newest first, by a cursor that names the last entry's
    // time, not the serial id every tenant shares (decision 0211); anything else is a 422 naming it.
    const all = await adminCall(gw, ADMIN, 'GET', '/admin/audit?limit=1000');
    const everyEntry = all.body.data as Array<{ at: string; action: string; target: string | null }>;
    assert.ok(everyEntry.length >= 5);
    const paged: typeof everyEntry = [];
    let cursor: string | null = null;
    do {
      const audit = await adminCall(
        gw,
        ADMIN,
        'GET',
        `/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(audit.status, 200);
      paged.push(...(audit.body.data as typeof everyEntry));
      cursor = audit.body.next_cursor as string | null;
      if (cursor) {
        const [ms] = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
        assert.equal(new Date(Number(ms)).toISOString(), paged.at(-1)?.at, 'the cursor names a time');
      }
    } while (cursor);
    assert.deepEqual(paged, everyEntry);
    for (const made of ['abc', '15', '9'.repeat(23)]) {
      const bad = await adminCall(
        gw,
        ADMIN,
        'GET',
        `/admin/audit?cursor=${Buffer.from(made).toString('base64url')}`,
      );
      assert.equal(bad.status, 422, made);
      assert.equal(bad.body.error?.param, 'cursor');
    }
  });

  test('metadata names are 1–64 characters, like their values are bounded (422 naming metadata)', async () => {
    for (const name of ['', 'k'.repeat(65)]) {
      for (const [path, extra] of [
        ['/admin/orgs', {}],
        ['/admin/teams', {}],
        ['/admin/keys', { user_id: 'm' }],
      ] as const) {
        const res = await adminCall(gw, ADMIN, 'POST', path, {
          name: 'm',
          ...extra,
          metadata: { [name]: 'v' },
        });
        assert.equal(res.status, 422, `${path} with a ${name.length}-character name`);
        assert.equal(res.body.error?.param, 'metadata');
      }
    }
    const ok = await adminCall(gw, ADMIN, 'POST', '/admin/teams', {
      name: 'm',
      metadata: { ['k'.repeat(64)]: 'v' },
    });
    assert.equal(ok.status, 201);
  });

  test('a team admin of a team outside any organization sees no organization', async () => {
    const other = await created(gw, ADMIN, '/admin/orgs', { name: 'someone-else', monthly_budget_usd: 900 });
    const lone = await created(gw, ADMIN, '/admin/teams', { name: 'lone' });
    const lead = await created(gw, ADMIN, '/admin/keys', {
      name: 'lead',
      team_id: lone.id,
      role: 'team_admin',
    });
    // It used to list every organization, with its budgets, limits and metadata.
    for (const query of ['', '?name=someone-else']) {
      const orgs = await adminCall(gw, lead.key, 'GET', `/admin/orgs${query}`);
      assert.equal(orgs.status, 200);
      assert.deepEqual(orgs.body.data, [], query);
    }
    assert.equal((await adminCall(gw, lead.key, 'GET', `/admin/orgs/${other.id}`)).status, 403);
    const teams = await adminCall(gw, lead.key, 'GET', '/admin/teams');
    assert.deepEqual(
      (teams.body.data as Array<{ id: string }>).map((t) => t.id),
      [lone.id],
    );
    const keys = await adminCall(gw, lead.key, 'GET', '/admin/keys');
    assert.deepEqual(
      (keys.body.data as Array<{ name: string }>).map((k) => k.name),
      ['lead'],
    );
  });
});

describe('tenancy reports with usage records (PGlite)', () => {
  let mock: MockUpstream;
  let moving: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    moving = await startGateway({
      mock,
      env: {
        GATEWAY_ADMIN_KEY: ADMIN,
        GATEWAY_DATA_DIR: 'memory://',
        USAGE_ENABLED: 'true',
        USAGE_FLUSH_INTERVAL_MS: '20',
      },
    });
  });
  after(async () => {
    await moving?.close();
    await mock?.close();
  });

  test("a team moved to another organization keeps its spend history in its team admin's reports", async () => {
    const from = await created(moving, ADMIN, '/admin/orgs', { name: 'from' });
    const to = await created(moving, ADMIN, '/admin/orgs', { name: 'to' });
    const team = await created(moving, ADMIN, '/admin/teams', { name: 'movers', org_id: from.id });
    const lead = await created(moving, ADMIN, '/admin/keys', {
      name: 'm-lead',
      team_id: team.id,
      role: 'team_admin',
    });
    const app = await created(moving, ADMIN, '/admin/keys', { name: 'm-app', team_id: team.id });
    assert.equal((await chatWith(moving, app.key)).status, 200);
    const requests = async () => {
      const spend = await adminCall(moving, lead.key, 'GET', '/admin/spend');
      const log = await adminCall(moving, lead.key, 'GET', '/admin/requests');
      return [
        (spend.body.data as Array<{ requests: number }>)[0]?.requests,
        (log.body.data as unknown[]).length,
      ];
    };
    for (let i = 0; i < 200 && (await requests())[0] !== 1; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(await requests(), [1, 1]);
    const moved = await adminCall(moving, ADMIN, 'PATCH', `/admin/teams/${team.id}`, { org_id: to.id });
    assert.equal(moved.status, 200);
    // The record was made in the old organization: the spend report used to add that organization's
    // filter for a team admin and show nothing, while the request log still listed the request.
    assert.deepEqual(await requests(), [1, 1]);
    const elsewhere = await adminCall(moving, lead.key, 'GET', `/admin/spend?org_id=${from.id}`);
    assert.equal(elsewhere.status, 403);
  });
});
