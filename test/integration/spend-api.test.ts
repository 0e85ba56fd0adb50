/**
 * Spend analytics end to end, on PGlite and on real PostgreSQL: tags from `metadata.tags` and
 * `X-Gateway-Tags` stored with the usage record (and never sent upstream), bounded with a clear 422;
 * `GET /admin/spend` grouped, filtered, top-N and as CSV over the rollups; `/admin/costs/summary` agreeing
 * with the rollups; `llm-gateway spend rebuild-rollups` rebuilding what the writer made.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { spendRoutes } from '../../src/accounting/spend.js';
import type { AdminActor } from '../../src/core/feature.js';
import { insertUsageBatch, type UsageRow } from '../../src/stores/usage-rollups.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-spend-0123456789abcdef';
const skipPostgres = await requireServices('postgres');
const root = fileURLToPath(new URL('../../', import.meta.url));

/** Synthetic records on 2026-03-01 … 03-03: three teams in two orgs, two models, some tagged. */
function synthetic(): UsageRow[] {
  const rows: UsageRow[] = [];
  const teams = [
    ['org-a', 'team-1', 'key-1', 'alice'],
    ['org-a', 'team-2', 'key-2', 'bob'],
    ['org-b', 'team-3', 'key-3', 'carol'],
  ] as const;
  let n = 0;
  for (let day = 1; day <= 3; day++) {
    teams.forEach(([org, team, key, user], t) => {
      for (let i = 0; i <= t; i++) {
        rows.push({
          timestamp: `2026-03-0${day}T${String(8 + i).padStart(2, '0')}:00:00.000Z`,
          request_id: `syn-${n++}`,
          user_id: user,
          api_key_id: key,
          model: i % 2 === 0 ? 'gpt-4o-mini' : 'claude-3-5-haiku',
          provider: i % 2 === 0 ? 'openai' : 'anthropic',
          input_tokens: 100,
          output_tokens: 10 * (t + 1),
          cached_input_tokens: 0,
          // team-1 costs 1, team-2 costs 2 per record, team-3 costs 3.
          cost_usd: `${t + 1}.000000`,
          cached: false,
          cache_type: null,
          saved_usd: '0',
          latency_ms: 5,
          status: 'success',
          http_status: 200,
          estimated: false,
          stream: false,
          prompt_name: null,
          prompt_version: null,
          org_id: org,
          team_id: team,
          tags: t === 1 ? ['batch', 'nightly'] : t === 2 && i === 0 ? ['batch'] : null,
        });
      }
    });
  }
  return rows;
}

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`spend analytics (${backend})`, {
    skip: backend === 'postgres' ? skipPostgres : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;

    before(async () => {
      mock = await MockUpstream.start();
      if (backend === 'postgres') database = await createTestDatabase('spend_api');
      gw = await startGateway({
        mock,
        clock: fakeClock(),
        env: {
          USAGE_ENABLED: 'true',
          USAGE_FLUSH_INTERVAL_MS: '20',
          GATEWAY_ADMIN_KEY: ADMIN,
          AUTH_MODE: 'none',
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
      });
      await gw.gateway.stores.database().ready;
      await insertUsageBatch(db(), synthetic());
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await database?.drop();
    });

    const db = () => gw.gateway.stores.database().db;
    const admin = (path: string) =>
      fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const spend = async (query: string) => {
      const res = await admin(`/admin/spend?${query}`);
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as { data: Array<Record<string, unknown>>; has_more: boolean };
    };
    const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: userMessage(), ...body }),
      });
    const recordOf = async (requestId: string) => {
      for (let i = 0; i < 500; i++) {
        const row = await db()
          .selectFrom('usage_records')
          .select(['tags', 'request_id'])
          .where('request_id', '=', requestId)
          .executeTakeFirst();
        if (row) return row;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no usage record for ${requestId}`);
    };

    test('tags from metadata.tags and X-Gateway-Tags are stored with the record; upstream only as OpenAI metadata', async () => {
      const res = await chat(
        { metadata: { tags: ['etl', 'nightly'], run: '42' } },
        { 'x-gateway-tags': 'nightly, team-x' },
      );
      assert.equal(res.status, 200);
      const sent = mock.requests.at(-1)?.body as Record<string, unknown>;
      assert.equal(sent.metadata, undefined, 'metadata goes upstream only with store: true');
      const row = await recordOf(res.headers.get('x-request-id') as string);
      assert.deepEqual(row.tags, ['etl', 'nightly', 'team-x']);

      const stored = await chat({ store: true, metadata: { tags: 'a,b', run: '42' } });
      assert.equal(stored.status, 200);
      const kept = mock.requests.at(-1)?.body as Record<string, unknown> | undefined;
      // A string is valid OpenAI metadata: kept with the stored completion, as sent.
      assert.deepEqual(kept?.metadata, { tags: 'a,b', run: '42' });
      assert.deepEqual((await recordOf(stored.headers.get('x-request-id') as string)).tags, ['a', 'b']);
      // The array form is the gateway's extension (OpenAI takes string values only): not sent.
      const listed = await chat({ store: true, metadata: { tags: ['a', 'b'], run: '42' } });
      assert.equal(listed.status, 200);
      const sentList = mock.requests.at(-1)?.body as Record<string, unknown> | undefined;
      assert.deepEqual(sentList?.metadata, { run: '42' });
    });

    test('too many, too long or malformed tags are a 422 naming where they came from', async () => {
      const cases: Array<[Record<string, unknown>, Record<string, string>, string, RegExp]> = [
        [
          { metadata: { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) } },
          {},
          'metadata.tags',
          /at most 10/,
        ],
        [{}, { 'x-gateway-tags': 'x'.repeat(65) }, 'X-Gateway-Tags', /longer than 64/],
        [{ metadata: { tags: 'ok,has space' } }, {}, 'metadata.tags', /letters, digits/],
        [{ metadata: { tags: [1, 2] } }, {}, 'metadata.tags', /must be/],
      ];
      for (const [body, headers, param, message] of cases) {
        const res = await chat(body, headers);
        assert.equal(res.status, 422, JSON.stringify(body));
        const error = ((await res.json()) as { error: { param: string; message: string } }).error;
        assert.match(error.param, new RegExp(`^${param.replace('.', '\\.')}`));
        assert.match(error.message, message);
      }
    });

    test('group_by team over a date range, highest cost first, with one field per dimension', async () => {
      const body = await spend('group_by=team&start_date=2026-03-01&end_date=2026-03-03');
      assert.deepEqual(
        body.data.map((r) => [r.team_id, r.cost, r.requests, r.input_tokens, r.output_tokens]),
        [
          ['team-3', 27, 9, 900, 270],
          ['team-2', 12, 6, 600, 120],
          ['team-1', 3, 3, 300, 30],
        ],
      );
      assert.equal(body.has_more, false);
      const two = await spend('group_by=org,model&start_date=2026-03-02&end_date=2026-03-02&org_id=org-a');
      assert.deepEqual(
        two.data.map((r) => [r.org_id, r.model, r.cost, r.requests]),
        [
          ['org-a', 'gpt-4o-mini', 3, 2],
          ['org-a', 'claude-3-5-haiku', 2, 1],
        ],
      );
    });

    test('filters, top-N, day and tag grouping read the right rollup', async () => {
      const top = await spend('group_by=key&start_date=2026-03-01&end_date=2026-03-03&limit=1');
      assert.deepEqual(top.data, [
        {
          key_id: 'key-3',
          cost: 27,
          requests: 9,
          input_tokens: 900,
          output_tokens: 270,
          saved_cost: 0,
          cached_requests: 0,
          unpriced_requests: 0,
        },
      ]);
      assert.equal(top.has_more, true);
      const days = await spend('group_by=day&start_date=2026-03-01&end_date=2026-03-03&user_id=bob');
      assert.deepEqual(
        days.data.map((r) => [r.day, r.cost]),
        [
          ['2026-03-01', 4],
          ['2026-03-02', 4],
          ['2026-03-03', 4],
        ],
      );
      // With `day` grouped, `limit` still keeps the costliest rows (not the first days), shown by day.
      const topDays = await spend('group_by=day,team&start_date=2026-03-01&end_date=2026-03-03&limit=4');
      assert.deepEqual(
        topDays.data.map((r) => [r.day, r.team_id, r.cost]),
        [
          ['2026-03-01', 'team-3', 9],
          ['2026-03-01', 'team-2', 4],
          ['2026-03-02', 'team-3', 9],
          ['2026-03-03', 'team-3', 9],
        ],
      );
      assert.equal(topDays.has_more, true);
      const tags = await spend('group_by=tag&start_date=2026-03-01&end_date=2026-03-03');
      assert.deepEqual(
        tags.data.map((r) => [r.tag, r.cost, r.requests]),
        [
          ['batch', 21, 9],
          ['nightly', 12, 6],
        ],
      );
      const tagged = await spend('group_by=team&tag=nightly&start_date=2026-03-01&end_date=2026-03-03');
      assert.deepEqual(
        tagged.data.map((r) => [r.team_id, r.cost]),
        [['team-2', 12]],
      );
      const provider = await spend(
        'group_by=provider&model=claude-3-5-haiku&start_date=2026-03-01&end_date=2026-03-03',
      );
      assert.deepEqual(
        provider.data.map((r) => [r.provider, r.requests]),
        [['anthropic', 6]],
      );
    });

    test('an org or team admin gets only its own subtree from the route', async () => {
      const [route] = spendRoutes({
        database: () => gw.gateway.stores.database(),
        now: () => Date.UTC(2026, 2, 3),
      });
      assert.ok(route);
      const ask = (actor: AdminActor, query: Record<string, string>) =>
        route.handler({ params: {}, query, body: undefined, id: 'r', ip: '127.0.0.1', actor }) as Promise<{
          data: Array<Record<string, unknown>>;
        }>;
      const range = { start_date: '2026-03-01', end_date: '2026-03-03' };
      const orgAdmin: AdminActor = { role: 'org_admin', keyId: 'k', orgId: 'org-a', teamId: null };
      const teamAdmin: AdminActor = { role: 'team_admin', keyId: 'k', orgId: 'org-a', teamId: 'team-1' };
      assert.deepEqual(
        (await ask(orgAdmin, { ...range, group_by: 'team' })).data.map((r) => r.team_id),
        ['team-2', 'team-1'],
      );
      assert.deepEqual(
        (await ask(teamAdmin, { ...range, group_by: 'org,team' })).data.map((r) => [
          r.org_id,
          r.team_id,
          r.cost,
        ]),
        [['org-a', 'team-1', 3]],
      );
      await assert.rejects(
        ask(teamAdmin, { ...range, team_id: 'team-3' }),
        (err: unknown) => (err as { status?: number }).status === 403,
      );
      assert.equal((await ask(orgAdmin, { ...range, group_by: 'tag' })).data.length, 2);
    });

    test('format=csv answers the same rows as text/csv', async () => {
      const res = await admin(
        '/admin/spend?group_by=team,model&start_date=2026-03-01&end_date=2026-03-01&format=csv&limit=2',
      );
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      assert.equal(
        await res.text(),
        'team_id,model,cost,requests,input_tokens,output_tokens,saved_cost,cached_requests,unpriced_requests\r\n' +
          'team-3,gpt-4o-mini,6,2,200,60,0,0,0\r\n' +
          'team-3,claude-3-5-haiku,3,1,100,30,0,0,0\r\n',
      );
      // The JSON answer's has_more, as headers: this report was cut at 2 rows (3 matched).
      assert.equal(res.headers.get('x-has-more'), 'true');
      assert.equal(res.headers.get('x-limit'), '2');
    });

    test('format=csv says in X-Has-More whether rows were left out, as has_more does in JSON', async () => {
      const range = 'start_date=2026-03-01&end_date=2026-03-03';
      for (const [query, rows, hasMore, limit] of [
        [`group_by=user&${range}&limit=2`, 2, 'true', '2'],
        [`group_by=user&${range}&limit=3`, 3, 'false', '3'],
        [`group_by=user&${range}`, 3, 'false', '1000'],
      ] as const) {
        const res = await admin(`/admin/spend?${query}&format=csv`);
        assert.equal(res.status, 200, query);
        const lines = (await res.text()).trimEnd().split('\r\n');
        assert.equal(lines.length - 1, rows, query);
        assert.equal(
          lines[0],
          'user_id,cost,requests,input_tokens,output_tokens,saved_cost,cached_requests,unpriced_requests',
        );
        assert.equal(res.headers.get('x-has-more'), hasMore, query);
        assert.equal(res.headers.get('x-limit'), limit, query);
        assert.equal(String((await spend(query)).has_more), hasMore, `JSON agrees: ${query}`);
      }
      // Documented for API clients.
      const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
        paths: Record<string, { get: { responses: Record<string, { headers?: Record<string, unknown> }> } }>;
      };
      const headers = doc.paths['/admin/spend']?.get.responses['200']?.headers ?? {};
      assert.deepEqual(Object.keys(headers).sort(), ['X-Has-More', 'X-Limit']);
    });

    test('bad group_by, dates, limit or format are a 422 naming the parameter; the admin key is required', async () => {
      for (const [query, param] of [
        ['group_by=team,colour', 'group_by'],
        ['group_by=team,team', 'group_by'],
        ['start_date=2026-02-30', 'start_date'],
        ['end_date=2026-03-01T10:00:00Z', 'end_date'],
        ['start_date=2026-03-05&end_date=2026-03-01', 'end_date'],
        ['limit=0', 'limit'],
        ['format=xml', 'format'],
        // Year 0000 was a database error (500).
        ['end_date=0000-01-01', 'end_date'],
        ['start_date=0000-12-31', 'start_date'],
        // A misspelt filter (the request log's name) used to be ignored: the whole spend, unfiltered.
        ['api_key_id=key-1', 'api_key_id'],
      ] as const) {
        const res = await admin(`/admin/spend?${query}`);
        assert.equal(res.status, 422, query);
        assert.equal(((await res.json()) as { error: { param: string } }).error.param, param, query);
      }
      for (const path of ['/admin/costs/summary?team_id=team-1', '/admin/costs/daily?api_key_id=key-1']) {
        const res = await admin(path);
        assert.equal(res.status, 422, path);
      }
      assert.equal((await fetch(`${gw.url}/admin/spend`)).status, 401);
    });

    test('the cost summary over whole days reads the rollups and keeps its shape', async () => {
      const res = await admin('/admin/costs/summary?start_date=2026-03-01&end_date=2026-03-03&user_id=carol');
      assert.equal(res.status, 200);
      const summary = (await res.json()) as Record<string, unknown>;
      assert.equal(summary.total_cost, 27);
      assert.equal(summary.request_count, 9);
      assert.equal(summary.total_tokens, 900 + 270);
      assert.deepEqual(summary.cost_by_model, {
        'gpt-4o-mini': { cost: 18, requests: 6, input_tokens: 600, output_tokens: 180, tokens: 780 },
        'claude-3-5-haiku': { cost: 9, requests: 3, input_tokens: 300, output_tokens: 90, tokens: 390 },
      });
      // A timestamp range mixes a partial day (records) with whole days (rollups).
      const partial = (await (
        await admin('/admin/costs/summary?start_date=2026-03-01T09:00:00Z&end_date=2026-03-03&user_id=carol')
      ).json()) as Record<string, unknown>;
      assert.equal(partial.request_count, 8);
    });

    // On PostgreSQL only: a PGlite directory belongs to the running gateway, and the CLI refuses to open it
    // while the gateway holds it (test/integration/pglite-ownership.test.ts); the rebuild code is the same.
    const onPostgres = backend === 'postgres' ? test : () => undefined;
    onPostgres('llm-gateway spend rebuild-rollups rebuilds what the writer made', async () => {
      const before = await spend('group_by=team,model,day&start_date=2026-03-01&end_date=2026-03-03');
      await sql`delete from usage_daily_team`.execute(db());
      assert.equal((await spend('group_by=team&start_date=2026-03-01&end_date=2026-03-03')).data.length, 0);
      const out = spawnSync(
        process.execPath,
        [
          join(root, 'bin/llm-gateway.mjs'),
          'spend',
          'rebuild-rollups',
          '--from',
          '2026-03-01',
          '--to',
          '2026-03-03',
        ],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', DATABASE_URL: database?.url ?? '' },
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stdout, /rebuilt the rollups of 3 days from 18 records/);
      assert.deepEqual(
        await spend('group_by=team,model,day&start_date=2026-03-01&end_date=2026-03-03'),
        before,
      );
    });
  });
}
