/**
 * The daily cost alert: crossing DAILY_COST_ALERT_THRESHOLD logs one warning, counts llm_cost_alerts_total
 * and calls the webhook — once per day, however many requests follow. And budgets still hold when Redis
 * is down: the per-instance fallback refuses (decision 0087).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { type PrivateRedis, startRedisServer } from '../helpers/services.js';

describe('daily cost alert', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  const hooks: unknown[] = [];
  const webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      hooks.push(JSON.parse(body));
      res.end();
    });
  });

  before(async () => {
    mock = await MockUpstream.start();
    mock.setAnswer({ usage: { prompt: 1000, completion: 1000, cached: 0 } });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const port = (webhook.address() as AddressInfo).port;
    gw = await startGateway({
      mock,
      // Each request costs 1000 × 2.5 + 1000 × 10 = 12500 µ$: the third crosses 0.03 USD.
      env: { DAILY_COST_ALERT_THRESHOLD: '0.03', COST_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    webhook.close();
  });

  test('one warning, one metric increment and one webhook call when crossed', async () => {
    const alerts = () => gw.logs.filter((l) => l.includes('"cost.daily_threshold"'));
    for (let i = 0; i < 2; i++) {
      assert.equal(
        (await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o', messages: userMessage() }))
          .status,
        200,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(alerts().length, 0);
    for (let i = 0; i < 3; i++) {
      await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o', messages: userMessage() });
    }
    for (let i = 0; i < 100 && hooks.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alerts().length, 1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^llm_cost_alerts_total 1$/m);
    assert.match(metrics, /^llm_daily_cost_usd 0\.0625$/m);
    assert.equal(hooks.length, 1);
    assert.deepEqual(Object.keys(hooks[0] as object).sort(), [
      'day',
      'event',
      'threshold_usd',
      'total_cost_usd',
    ]);
    assert.equal((hooks[0] as { threshold_usd: number }).threshold_usd, 0.03);
  });
});

describe('budgets still hold when Redis is down (per-instance fallback, decision 0087)', () => {
  let redis: PrivateRedis;
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    redis = await startRedisServer();
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { REDIS_URL: redis.url, BUDGET_DEFAULT_DAILY_USD: '0.000001', REDIS_COMMAND_TIMEOUT_MS: '200' },
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await redis?.close();
  });

  test('over budget with Redis up: 429; with Redis down: still 429 (never unlimited), counted as a dependency error', async () => {
    const body = { model: 'gpt-4o-mini', messages: userMessage() };
    const refused = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(refused.status, 429);
    await redis.stop();
    const stillRefused = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(stillRefused.status, 429);
    assert.equal(((await stillRefused.json()) as { error: { code: string } }).error.code, 'budget_exceeded');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /^llm_dependency_errors_total\{dependency="redis"\} [1-9]/m);
    assert.match(metrics, /^llm_redis_fallback_total\{feature="budgets",result="refused"\} 1/m);
  });
});
