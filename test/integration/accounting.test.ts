/**
 * Cost accounting end to end, on PGlite (the default) and on real PostgreSQL: X-Cost on answers and in the
 * stream trailer, usage records written by the batching recorder, and the cost reports agreeing with SQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import OpenAI from 'openai';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { Usage } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock, TEST_EPOCH_MS } from '../helpers/fake-clock.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-accounting-0123456789';
const prices = new PriceTable();
const skipPostgres = await requireServices('postgres');

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`cost accounting (${backend})`, {
    skip: backend === 'postgres' ? skipPostgres : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;
    let chatUrl: string;

    before(async () => {
      mock = await MockUpstream.start();
      if (backend === 'postgres') database = await createTestDatabase('accounting');
      gw = await startGateway({
        mock,
        // A fixed calendar date: records, reports and the queries below never depend on today's date.
        clock: fakeClock(),
        env: {
          USAGE_ENABLED: 'true',
          USAGE_FLUSH_INTERVAL_MS: '20',
          GATEWAY_ADMIN_KEY: ADMIN,
          AUTH_MODE: 'none',
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
      });
      chatUrl = `${gw.url}/v1/chat/completions`;
      await gw.gateway.stores.database().ready;
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await database?.drop();
    });

    const db = () => gw.gateway.stores.database().db;
    const record = async (requestId: string) => {
      for (let i = 0; i < 500; i++) {
        const row = await db()
          .selectFrom('usage_records')
          .selectAll()
          .where('request_id', '=', requestId)
          .executeTakeFirst();
        if (row) return row;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.fail(`no usage record for ${requestId}`);
    };
    const admin = (path: string) =>
      fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });

    test('a completion carries X-Cost from the upstream usage and is recorded', async () => {
      mock.reset();
      const res = await postJson(
        chatUrl,
        { model: 'gpt-4o-mini', messages: userMessage('Say hello') },
        { 'x-user-id': 'alice' },
      );
      assert.equal(res.status, 200);
      const body = (await res.json()) as { usage: Usage };
      // The mock reports 10 + 2 prompt tokens and 4 completion tokens: 12 × 0.15 + 4 × 0.6 = 4.2 µ$.
      assert.deepEqual([body.usage.prompt_tokens, body.usage.completion_tokens], [12, 4]);
      assert.equal(res.headers.get('x-cost'), '0.000004');
      const row = await record(res.headers.get('x-request-id') as string);
      assert.equal(row.user_id, 'alice');
      assert.equal(row.model, 'gpt-4o-mini');
      assert.equal(row.provider, 'openai');
      assert.equal(Number(row.cost_usd), 0.000004);
      assert.deepEqual([row.input_tokens, row.output_tokens], [12, 4]);
      assert.equal(row.status, 'success');
      assert.equal(row.http_status, 200);
      assert.equal(row.estimated, false);
      assert.equal(row.cached, false);
      assert.equal(row.stream, false);
    });

    test('cached prompt tokens are priced at the cached-input price', async () => {
      mock.reset();
      mock.setAnswer({ usage: { prompt: 1000, completion: 10, cached: 400 } });
      const res = await postJson(chatUrl, { model: 'gpt-4o', messages: userMessage() });
      // 600 × 2.5 + 400 × 1.25 + 10 × 10 = 2100 µ$
      assert.equal(res.headers.get('x-cost'), '0.002100');
      const row = await record(res.headers.get('x-request-id') as string);
      assert.equal(row.cost_usd !== null && Number(row.cost_usd), 0.0021);
      assert.equal(row.cached_input_tokens, 400);
    });

    test('Anthropic and Gemini answers are priced from their translated usage', async () => {
      mock.reset();
      mock.setAnswer({ usage: { prompt: 2000, completion: 300, cached: 500 } });
      for (const model of ['claude-3-5-haiku-20241022', 'gemini-2.5-flash']) {
        const res = await postJson(chatUrl, { model, messages: userMessage() });
        assert.equal(res.status, 200, model);
        const body = (await res.json()) as { usage: Usage };
        const expected = prices.calculateCost(model, body.usage);
        assert.ok(expected !== null && expected > 0, model);
        assert.equal(res.headers.get('x-cost'), expected.toFixed(6), model);
        const row = await record(res.headers.get('x-request-id') as string);
        assert.equal(Number(row.cost_usd), expected, model);
      }
    });

    test('a stream asks the upstream for usage, ends with an X-Cost comment and is recorded', async () => {
      mock.reset();
      const res = await postJson(chatUrl, { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
      assert.equal(res.status, 200);
      const text = await res.text();
      // The client did not ask for usage: none is sent, but the gateway asked the upstream for it.
      const sent = mock.requests[0]?.body as { stream_options?: { include_usage?: boolean } } | undefined;
      assert.equal(sent?.stream_options?.include_usage, true);
      assert.doesNotMatch(text, /"usage":\{/);
      assert.match(text, /\n: X-Cost: 0\.000004\n\ndata: \[DONE\]\n\n$/);
      const row = await record(res.headers.get('x-request-id') as string);
      assert.equal(row.stream, true);
      assert.deepEqual([row.input_tokens, row.output_tokens], [12, 4]);
      assert.equal(Number(row.cost_usd), 0.000004);
      assert.equal(row.estimated, false);
    });

    test('a stream the upstream cuts mid-answer is settled once: one incomplete record, one request.end', async () => {
      mock.reset();
      mock.enqueue({ kind: 'disconnect', afterFrames: 3 });
      const res = await postJson(chatUrl, { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /data: \{"error":/, 'the stream ends with an error event');
      assert.doesNotMatch(text, /\[DONE\]|X-Cost/, 'no fake success, no cost trailer');
      const requestId = res.headers.get('x-request-id') as string;
      const row = await record(requestId);
      assert.equal(row.status, 'incomplete');
      assert.equal(row.estimated, true, 'what was streamed is counted locally');
      assert.ok(row.output_tokens > 0, 'the streamed text is billed');
      const flushed = await db()
        .selectFrom('usage_records')
        .select(db().fn.countAll<number>().as('n'))
        .where('request_id', '=', requestId)
        .executeTakeFirstOrThrow();
      assert.equal(Number(flushed.n), 1, 'one usage record');
      const ends = gw.logs.filter((l) => l.includes('"request.end"') && l.includes(`"${requestId}"`));
      assert.equal(ends.length, 1, 'one request.end line');
    });

    test('the openai SDK reads a stream with the cost comment unchanged', async () => {
      mock.reset();
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let content = '';
      let usage: unknown = null;
      for await (const chunk of stream) {
        content += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(content, 'Hello from the mock');
      assert.ok(usage);
    });

    test('an unpriced model: no X-Cost, cost recorded as unknown, counted, warned about once', async () => {
      mock.reset();
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await postJson(chatUrl, { model: 'openai/my-finetune-x', messages: userMessage() });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-cost'), null);
        ids.push(res.headers.get('x-request-id') as string);
      }
      for (const id of ids) assert.equal((await record(id)).cost_usd, null);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      assert.match(metrics, /^llm_cost_unknown_model_total 2$/m);
      const warnings = gw.logs.filter((l) => l.includes('"cost.unknown_model"'));
      assert.equal(warnings.length, 1);
    });

    test('cost and token metrics are counted per model', async () => {
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      assert.match(metrics, /^llm_cost_usd_total\{model="gpt-4o"\} 0\.0021$/m);
      assert.match(metrics, /^llm_token_count\{model="gpt-4o",type="cached_input"\} 400$/m);
      assert.match(metrics, /^llm_token_count\{model="gpt-4o",type="input"\} 600$/m);
    });

    test('the summary and daily reports equal a direct SQL sum', async () => {
      await gw.gateway.stores.database().ready;
      const today = new Date(TEST_EPOCH_MS).toISOString().slice(0, 10);
      const res = await admin(`/admin/costs/summary?start_date=${today}`);
      assert.equal(res.status, 200);
      const summary = (await res.json()) as {
        total_cost: number;
        request_count: number;
        input_tokens: number;
        output_tokens: number;
        saved_cost: number;
        cost_by_model: Record<string, { cost: number; requests: number; tokens: number }>;
      };
      const direct = await sql<{ total: string; n: string; input: string; output: string }>`
        select sum(cost_usd)::text as total, count(*)::text as n,
               sum(input_tokens)::text as input, sum(output_tokens)::text as output
        from usage_records where timestamp >= ${`${today}T00:00:00Z`}::timestamptz`.execute(db());
      const totals = direct.rows[0];
      assert.ok(totals);
      assert.equal(summary.total_cost, Number(totals.total));
      assert.equal(summary.request_count, Number(totals.n));
      assert.equal(summary.input_tokens, Number(totals.input));
      assert.equal(summary.output_tokens, Number(totals.output));
      assert.ok(summary.request_count >= 8);
      const byModel = await sql<{ model: string; cost: string | null; n: string }>`
        select model, sum(cost_usd)::text as cost, count(*)::text as n from usage_records group by model`.execute(
        db(),
      );
      for (const row of byModel.rows) {
        assert.equal(summary.cost_by_model[row.model]?.cost, Number(row.cost ?? 0), row.model);
        assert.equal(summary.cost_by_model[row.model]?.requests, Number(row.n), row.model);
      }
      const alice = (await (await admin(`/admin/costs/summary?user_id=alice`)).json()) as typeof summary;
      assert.equal(alice.request_count, 1);
      assert.equal(alice.total_cost, 0.000004);

      const daily = (await (await admin(`/admin/costs/daily?start_date=${today}`)).json()) as {
        data: Array<{ date: string; total_cost: number; request_count: number }>;
      };
      assert.deepEqual(
        daily.data.map((d) => [d.date, d.total_cost, d.request_count]),
        [[today, summary.total_cost, summary.request_count]],
      );
    });

    test('bad dates are a 422 naming the parameter; the admin key is required', async () => {
      const res = await admin('/admin/costs/summary?start_date=18-02-2025');
      assert.equal(res.status, 422);
      const body = (await res.json()) as { error: { param: string; type: string; message: string } };
      assert.equal(body.error.param, 'start_date');
      assert.equal(body.error.type, 'invalid_request_error');
      assert.match(body.error.message, /YYYY-MM-DD/);
      const daily = await admin('/admin/costs/daily?end_date=2025-02-30');
      assert.equal(daily.status, 422);
      assert.equal(((await daily.json()) as { error: { param: string } }).error.param, 'end_date');
      assert.equal((await fetch(`${gw.url}/admin/costs/summary`)).status, 401);
    });
  });
}
