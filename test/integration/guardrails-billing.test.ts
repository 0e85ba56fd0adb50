/**
 * An answer a guardrail blocks on output was still made and billed by the provider (DESIGN §7, §17): the
 * request is recorded with the provider's usage and cost — the same as the unguarded call — and settled
 * against the key's budget, on every endpoint, while the client gets the 400. (Embedded database: PGlite.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

const ADMIN = 'admin-SECRET-guard-billing-0123456789';
const CARD = '4111 1111 1111 1111';
const hasCard = (text: string) => text.includes('4111 1') || text.includes('41111111');
// 10 input and 5 output tokens at $1000 / $2000 per million: $0.02 a call.
const USAGE = { prompt: 10, completion: 5, cached: 0 };

describe('guardrails: a blocked answer is billed', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: {
        AUTH_MODE: 'keys',
        GATEWAY_ADMIN_KEY: ADMIN,
        GATEWAY_DATA_DIR: 'memory://',
        USAGE_ENABLED: 'true',
        USAGE_FLUSH_INTERVAL_MS: '20',
      },
      yaml: [
        'guardrails:',
        '  policies:',
        '    strict:',
        "      entities: { credit_card: block, '*': mask }",
        'pricing:',
        '  models:',
        '    gpt-4o-mini: { input: 1000, output: 2000 }',
      ].join('\n'),
    });
    await gw.gateway.stores.database().ready;
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  const createKey = async (body: Record<string, unknown>) => {
    const res = await fetch(`${gw.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'k', user_id: 'alice', ...body }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { key: string }).key;
  };

  const record = async (requestId: string) => {
    const db = gw.gateway.stores.database().db;
    for (let i = 0; i < 500; i++) {
      const row = await db
        .selectFrom('usage_records')
        .selectAll()
        .where('request_id', '=', requestId)
        .executeTakeFirst();
      if (row) return row;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail(`no usage record for ${requestId}`);
  };

  const ENDPOINTS = [
    { path: '/v1/chat/completions', body: { model: 'gpt-4o-mini', messages: userMessage('hi') } },
    { path: '/v1/messages', body: { model: 'gpt-4o-mini', max_tokens: 50, messages: userMessage('hi') } },
    { path: '/v1/responses', body: { model: 'gpt-4o-mini', input: 'hi' } },
  ];

  test('JSON answers on chat, messages and responses: recorded with the usage and cost of the unguarded call', async () => {
    const guarded = await createKey({ guardrails: ['strict'] });
    const plain = await createKey({});
    for (const { path, body } of ENDPOINTS) {
      mock.reset();
      mock.setAnswer({ text: `Your card is ${CARD}.`, usage: USAGE });
      const blocked = await postJson(`${gw.url}${path}`, body, { authorization: `Bearer ${guarded}` });
      assert.equal(blocked.status, 400, path);
      assert.ok(!hasCard(await blocked.text()), path);
      const same = await postJson(`${gw.url}${path}`, body, { authorization: `Bearer ${plain}` });
      assert.equal(same.status, 200, path);
      await same.text();
      assert.equal(mock.requests.length, 2, path);
      const row = await record(blocked.headers.get('x-request-id') as string);
      const control = await record(same.headers.get('x-request-id') as string);
      assert.equal(row.http_status, 400, path);
      const billed = (r: typeof row) => [r.input_tokens, r.output_tokens, Number(r.cost_usd)];
      assert.deepEqual(billed(row), billed(control), path);
      assert.deepEqual(billed(row), [10, 5, 0.02], path);
      assert.ok(!hasCard(JSON.stringify(row)), path);
    }
  });

  test('blocked answers are settled against the key budget: it is refused once spent', async () => {
    const key = await createKey({ guardrails: ['strict'], daily_budget_usd: 0.05 });
    mock.reset();
    mock.setAnswer({ text: `Your card is ${CARD}.`, usage: USAGE });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await postJson(
        `${gw.url}/v1/chat/completions`,
        { model: 'gpt-4o-mini', max_tokens: 5, messages: userMessage('hi') },
        { authorization: `Bearer ${key}` },
      );
      statuses.push(res.status);
      await res.text();
    }
    // $0.02 a call on a $0.05 budget: refused after two or three calls (the reservation decides the third).
    assert.ok(statuses.includes(429), statuses.join(' '));
    assert.ok(mock.requests.length <= 3, `${mock.requests.length} provider calls on a $0.05 budget`);
  });
});
