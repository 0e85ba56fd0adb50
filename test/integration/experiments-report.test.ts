/**
 * The experiment report against large feedback values (audit E, F1; decision 0226), on PGlite and on
 * PostgreSQL. One value of 1e160 on a metric without a range used to be accepted and made every report of
 * the experiment a 500 for good (`sum(value * value)` overflowed, and the database raises an error rather
 * than answering Infinity). Now feedback refuses values beyond ±1e15 with a 422 naming `value`, and the
 * report leaves out such a value stored before the bound instead of failing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-exp-report-0123456789';
const skipPostgres = await requireServices('postgres');
const YAML = `feedback:
  metrics:
    edit_distance:
      type: numeric
      direction: lower
`;

type Json = Record<string, unknown>;

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`experiment report with large feedback values (${backend})`, {
    skip: backend === 'postgres' ? skipPostgres : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;

    before(async () => {
      mock = await MockUpstream.start();
      if (backend === 'postgres') database = await createTestDatabase('exp_report');
      gw = await startGateway({
        mock,
        yaml: YAML,
        env: {
          AUTH_MODE: 'none',
          USAGE_ENABLED: 'true',
          USAGE_FLUSH_INTERVAL_MS: '20',
          GATEWAY_ADMIN_KEY: ADMIN,
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
      });
      await gw.gateway.stores.database().ready;
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await database?.drop();
    });

    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const db = () => gw.gateway.stores.database().db;

    test('a value beyond ±1e15 is a 422; one stored before the bound is left out of the report', async () => {
      const prompt = await admin('POST', '/admin/prompts', {
        id: 'fb',
        messages: [{ role: 'user', content: 'Say {{word}}.' }],
        model: 'gpt-4o-mini',
      });
      assert.equal(prompt.status, 201, JSON.stringify(prompt.body));
      const created = await admin('POST', '/admin/experiments', {
        id: 'exp-huge',
        variants: [
          { name: 'a', weight: 1, prompt: { id: 'fb', version: 1 } },
          { name: 'b', weight: 1, prompt: { id: 'fb', version: 1 }, model: 'gpt-4o' },
        ],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));

      const served: Array<{ id: string; variant: string }> = [];
      for (let u = 0; u < 8; u++) {
        const res = await postJson(`${gw.url}/v1/prompts/fb/completions`, {
          experiment: 'exp-huge',
          user: `user-${u}`,
          variables: { word: 'hi' },
        });
        assert.equal(res.status, 200, await res.text());
        served.push({
          id: String(res.headers.get('x-gateway-request-id')),
          variant: String(res.headers.get('x-gateway-variant')),
        });
      }
      const feedback = (request_id: string, value: unknown) =>
        postJson(`${gw.url}/v1/feedback`, { request_id, metric: 'edit_distance', value });
      const [first] = served;
      assert.ok(first);
      const huge = await feedback(first.id, 1e160);
      assert.equal(huge.status, 422);
      const error = ((await huge.json()) as { error: Json }).error;
      assert.equal(error.param, 'value');
      assert.match(String(error.message), /between -1e15 and 1e15/);

      for (const [i, { id }] of served.entries()) {
        assert.equal((await feedback(id, i + 1)).status, 200);
      }
      await until(
        'usage records',
        async () =>
          (
            await db()
              .selectFrom('usage_records')
              .select('request_id')
              .where('experiment_id', '=', 'exp-huge')
              .execute()
          ).length,
        (n) => n === served.length,
      );
      // A value stored before the bound existed (the API no longer takes it).
      await sql`update feedback set value = 1e160 where request_id = ${first.id}`.execute(db());

      const report = await admin('GET', '/admin/experiments/exp-huge/report');
      assert.equal(report.status, 200, JSON.stringify(report.body));
      const variants = report.body.variants as Array<{ name: string; feedback: Record<string, Json> }>;
      for (const v of variants) {
        const mine = served.filter((s) => s.variant === v.name);
        const kept: number[] = mine.filter((s) => s.id !== first.id).map((s) => served.indexOf(s) + 1);
        const metric = v.feedback.edit_distance as Json;
        assert.equal(metric.n, kept.length, v.name);
        if (kept.length > 0) {
          const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
          assert.ok(Math.abs(Number(metric.mean) - mean) < 1e-9, `${v.name}: ${metric.mean} vs ${mean}`);
        }
      }
    });
  });
}
