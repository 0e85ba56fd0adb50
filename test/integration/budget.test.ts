/**
 * Budgets by escrow (DESIGN §7): the worst-case cost is reserved before the call and settled after it, so
 * concurrent requests over several instances sharing Redis never spend more than the budget, and a request
 * over budget is refused with 429 budget_exceeded before any provider call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { REDIS_URL, requireServices, uniquePrefix } from '../helpers/services.js';

const MODEL = 'gpt-4o-mini';
const MAX_TOKENS = 200;
const body = {
  model: MODEL,
  max_tokens: MAX_TOKENS,
  messages: [{ role: 'user', content: 'Summarise the quarterly report in three sentences.' }],
} as ChatRequest;
const price = new PriceTable().priceOf(MODEL);
assert.ok(price);
const promptTokens = reservedPromptTokens(body);
/** What one request reserves; the mock reports exactly the worst case, so each request also spends it. */
const worstMicros = reservationMicros(price, promptTokens, MAX_TOKENS);
const spentMicros = worstMicros - 1;

async function startMock(): Promise<MockUpstream> {
  const mock = await MockUpstream.start();
  mock.setAnswer({ usage: { prompt: promptTokens, completion: MAX_TOKENS, cached: 0 } });
  return mock;
}

const skipRedis = await requireServices('redis');

describe('budgets across two instances sharing Redis', { skip: skipRedis }, () => {
  const K = 12;
  const budgetUsd = (K * worstMicros) / 1e6;
  let mock: MockUpstream;
  const gateways: TestGateway[] = [];

  before(async () => {
    mock = await startMock();
    const env = {
      REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('budget'),
      // The request path waits up to this for Redis: generous, the test runs on a shared machine.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      BUDGET_DEFAULT_DAILY_USD: String(budgetUsd),
    };
    for (let i = 0; i < 2; i++) gateways.push(await startGateway({ mock, env }));
  });
  after(async () => {
    for (const gw of gateways) await gw.close();
    await mock?.close();
  });

  test(`a budget of exactly ${K} worst-case requests: 4K concurrent requests spend at most the budget`, async () => {
    const results = await Promise.all(
      Array.from({ length: 4 * K }, (_, i) =>
        postJson(`${gateways[i % 2]?.url}/v1/chat/completions`, body, { 'x-user-id': 'team-a' }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(ok.length + refused.length, 4 * K);
    const spent = ok.reduce((sum, r) => sum + Math.round(Number(r.headers.get('x-cost')) * 1e6), 0);
    assert.ok(spent <= K * worstMicros, `spent ${spent} µ$ of a ${K * worstMicros} µ$ budget`);
    // Every request spends its worst case, so exactly K fit; none of the refused reached the upstream.
    assert.equal(ok.length, K);
    assert.equal(spent, K * spentMicros);
    assert.equal(mock.requests.length, K);
    // Both instances admitted some (the budget is shared, not per instance).
    const served = new Set(ok.map((r) => r.response.url.split('/v1')[0]));
    assert.equal(served.size, 2);
    const first = refused[0];
    assert.ok(first);
    const error = ((await first.json()) as { error: { code: string; type: string; message: string } }).error;
    assert.equal(error.code, 'budget_exceeded');
    assert.equal(error.type, 'budget_exceeded');
    assert.match(error.message, /daily budget/);
    assert.ok(Number(first.headers.get('retry-after')) > 0);
    const metrics = await (await fetch(`${gateways[0]?.url}/metrics`)).text();
    assert.match(metrics, /llm_budget_exceeded_total\{scope="user",period="daily"\} \d+/);
  });

  test('another user has a budget of their own', async () => {
    const res = await postJson(`${gateways[1]?.url}/v1/chat/completions`, body, { 'x-user-id': 'team-b' });
    assert.equal(res.status, 200);
  });
});

describe('budgets in memory (one instance) settle to the real cost', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMock();
    // The upstream reports a small real cost: settling frees the rest of each reservation.
    mock.setAnswer({ usage: { prompt: 10, completion: 10, cached: 0 } });
    const real = 10 * 0.15 + 10 * 0.6; // 7.5 µ$ → 8
    gw = await startGateway({
      mock,
      yaml: `budgets:\n  users:\n    carol: { daily_usd: ${(worstMicros + 2 * 8) / 1e6} }\n`,
    });
    assert.ok(real < worstMicros);
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test('reservations are released to the real cost, then the budget refuses', async () => {
    const url = `${gw.url}/v1/chat/completions`;
    // Budget = one reservation + 16 µ$: each request reserves the worst case and spends 8 µ$.
    for (let i = 0; i < 3; i++) {
      const res = await postJson(url, body, { 'x-user-id': 'carol' });
      assert.equal(res.status, 200, `request ${i + 1}`);
      assert.equal(res.headers.get('x-cost'), '0.000008');
      await new Promise((resolve) => setImmediate(resolve));
    }
    // 24 µ$ spent: 24 + worst > budget.
    const refused = await postJson(url, body, { 'x-user-id': 'carol' });
    assert.equal(refused.status, 429);
    assert.equal(mock.requests.length, 3);
    // A user without a budget is not limited.
    assert.equal((await postJson(url, body, { 'x-user-id': 'dave' })).status, 200);
  });
});

describe('a key budget from the api_keys table (PGlite)', () => {
  const ADMIN = 'admin-SECRET-budget-0123456789';
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await startMock();
    gw = await startGateway({ mock, env: { GATEWAY_ADMIN_KEY: ADMIN } });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test('the key daily budget covers two worst-case requests: the third is refused', async () => {
    const created = await fetch(`${gw.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'ci', user_id: 'ci-bot', daily_budget_usd: (2 * worstMicros) / 1e6 }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const { key } = (await created.json()) as { key: string };
    const url = `${gw.url}/v1/chat/completions`;
    const auth = { authorization: `Bearer ${key}` };
    assert.equal((await postJson(url, body, auth)).status, 200);
    assert.equal((await postJson(url, body, auth)).status, 200);
    const refused = await postJson(url, body, auth);
    assert.equal(refused.status, 429);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'budget_exceeded');
    assert.match(error.message, /daily budget of \$[\d.]+ for API key "key_/);
    assert.equal(refused.headers.get('x-should-retry'), 'false');
    assert.equal(mock.requests.length, 2);

    // The OpenAI SDK retries a 429 twice by default; told not to, it sends the request once.
    let sent = 0;
    const client = new OpenAI({
      apiKey: key,
      baseURL: `${gw.url}/v1`,
      maxRetries: 2,
      fetch: (input: string | URL | Request, init?: RequestInit) => {
        sent++;
        return fetch(input, init);
      },
    });
    await assert.rejects(client.chat.completions.create(body), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal((err.error as { code?: string } | undefined)?.code, 'budget_exceeded');
      return true;
    });
    assert.equal(sent, 1);
  });
});
