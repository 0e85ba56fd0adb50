/**
 * Redis trouble (DESIGN §7, decisions 0086/0087), against a private redis-server (never the shared one):
 *
 * - Redis down → limits degrade to per instance, never to unlimited: the same tier, divided by
 *   `rate_limit.fallback_instances`, still answers 429.
 * - Redis down → budgets are checked against the last known spend plus the instance's share of what was
 *   left, still answering 429 `budget_exceeded`; once Redis is back the spend made meanwhile is added to it.
 * - The breaker's state shows in /health and in `llm_redis_breaker_state`.
 * - A hung Redis (SIGSTOP): after consecutive timeouts nothing is sent at all; the background probe brings
 *   it back once the server answers again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { createRedisStore, RedisTimeoutError, RedisUnavailableError } from '../../src/stores/redis.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { type PrivateRedis, requireServices, startRedisServer, uniquePrefix } from '../helpers/services.js';

const skip = await requireServices('redis');

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
/** What one request reserves; the mock reports the worst case, so each request also spends about that. */
const worstMicros = reservationMicros(price, promptTokens, MAX_TOKENS);
const BUDGET_MICROS = 10 * worstMicros;

const chat = (gw: TestGateway, user: string) =>
  postJson(`${gw.url}/v1/chat/completions`, body, { 'x-user-id': user });

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Redis down: per-instance limits and budgets', { skip }, () => {
  let mock: MockUpstream;
  let redis: PrivateRedis;
  let gw: TestGateway;
  let raw: Redis;
  const prefix = uniquePrefix('outage');

  before(async () => {
    mock = await MockUpstream.start();
    mock.setAnswer({ usage: { prompt: promptTokens, completion: MAX_TOKENS, cached: 0 } });
    redis = await startRedisServer();
    raw = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    raw.on('error', () => undefined);
    gw = await startGateway({
      mock,
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        REDIS_BREAKER_COOLDOWN_MS: '200',
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_CAPACITY: '30',
        RATE_LIMIT_DEFAULT_RATE: '0.01',
        // Three instances expected: each one enforces a third of the bucket while Redis is away.
        RATE_LIMIT_FALLBACK_INSTANCES: '3',
        CACHE_ENABLED: 'false',
      },
      yaml: `budgets:\n  outage_share: 0.5\n  users:\n    spender: { daily_usd: ${BUDGET_MICROS / 1e6} }\n`,
    });
  });
  after(async () => {
    raw.disconnect();
    await gw.close();
    await redis.close();
    await mock.close();
  });

  const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
  const budgetKey = async () => {
    const keys = await raw.keys(`${prefix}budget:{spender}:user:d:*`);
    assert.equal(keys.length, 1);
    return keys[0] as string;
  };

  test('limits hold per instance and budgets hold on the last known spend; the outage spend reaches Redis after', {
    timeout: 60_000,
  }, async () => {
    await raw.connect();
    // Before the outage: one request each, through Redis.
    for (const user of ['limited', 'spender', 'spender']) {
      const res = await chat(gw, user);
      assert.equal(res.status, 200);
      await res.text();
    }
    await until(
      'settlements in Redis',
      async () => Number(await raw.get(await budgetKey())) < 2 * worstMicros,
    );
    const before = Number(await raw.get(await budgetKey()));

    await redis.stop();

    // Rate limit: capacity 30 / 3 instances = 10 per instance, then 429 (never unlimited).
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      const res = await chat(gw, 'limited');
      statuses.push(res.status);
      if (res.status === 429) {
        const error = ((await res.json()) as { error: { code: string } }).error;
        assert.equal(error.code, 'rate_limit_exceeded');
        assert.ok(Number(res.headers.get('retry-after')) >= 1);
      } else await res.text();
    }
    assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429, 429]);

    // Budget: this instance may spend half of what it last saw left, then refuses with budget_exceeded.
    let allowed = 0;
    let refused: { code: string; message: string } | null = null;
    for (let i = 0; i < 12 && !refused; i++) {
      const res = await chat(gw, 'spender');
      if (res.status === 200) {
        allowed++;
        await res.text();
      } else {
        assert.equal(res.status, 429);
        refused = ((await res.json()) as { error: { code: string; message: string } }).error;
      }
    }
    assert.ok(refused, 'the budget still refuses while Redis is down');
    assert.equal(refused.code, 'budget_exceeded');
    const share = 0.5 * (BUDGET_MICROS - before);
    assert.ok(allowed >= 1, 'a share of the remaining budget is usable during the outage');
    assert.ok(
      allowed * worstMicros <= share + worstMicros,
      `${allowed} requests fit in a share of ${share} µ$`,
    );
    assert.ok(before + allowed * worstMicros <= BUDGET_MICROS, 'no overspend');

    const text = await metrics();
    assert.match(text, /llm_redis_breaker_state 2/);
    assert.match(text, /llm_redis_fallback_total\{feature="ratelimit",result="refused"\} 3/);
    assert.match(text, /llm_redis_fallback_total\{feature="budgets",result="refused"\} 1/);
    assert.match(text, /llm_dependency_errors_total\{dependency="redis"\} [1-9]/);
    const health = (await (await fetch(`${gw.url}/health`)).json()) as {
      status: string;
      dependencies: { redis: { status: string; breaker: string } };
    };
    // Skipped: open, or half-open while its background probe is out (a /health call may start one).
    assert.match(health.dependencies.redis.breaker, /^(open|half_open)$/);
    assert.equal(health.dependencies.redis.status, 'down');
    assert.equal(health.status, 'degraded');
    assert.equal(
      gw.logs.filter((l) => l.includes('"event":"redis.breaker_open"')).length,
      1,
      'logged once per transition',
    );

    // Redis comes back (empty: it keeps nothing on disk). The breaker probes after its cool-down, closes,
    // and the spend made during the outage is added to Redis on top of the spend before it: nothing is lost.
    await redis.start();
    const store = gw.gateway.stores.redis;
    assert.ok(store);
    await until('the breaker to close', () => store.available());
    await until('the outage spend in Redis', async () => (await raw.keys(`${prefix}budget:*`)).length > 0);
    const after = Number(await raw.get(await budgetKey()));
    const spentDuringOutage = allowed * (worstMicros - 1);
    assert.ok(
      after >= before + spentDuringOutage && after <= before + allowed * worstMicros,
      `Redis holds the spend before the outage (${before} µ$) and during it: ${after} µ$ for ${allowed} requests of ≤ ${worstMicros} µ$`,
    );
    assert.match(await metrics(), /llm_redis_fallback_total\{feature="budgets",result="synced"\} 1/);
    assert.ok(gw.logs.some((l) => l.includes('"event":"budget.outage_synced"')));
    assert.ok(gw.logs.some((l) => l.includes('"event":"redis.breaker_closed"')));
    assert.match(await metrics(), /llm_redis_breaker_state 0/);
  });
});

describe('Redis hung (SIGSTOP): the breaker', { skip }, () => {
  test('after 3 timeouts no command is sent; a probe finds Redis again once it answers', {
    timeout: 30_000,
  }, async () => {
    const server = await startRedisServer();
    const metrics = createMetrics({ processMetrics: false });
    const store = createRedisStore(
      { url: server.url, commandTimeoutMs: 50, keyPrefix: 't:', breakerFailures: 3, breakerCooldownMs: 200 },
      { logger: createLogger({ level: 'silent' }), metrics },
    );
    try {
      assert.equal(await store.waitReady(5_000), true);
      assert.equal(await store.run((c) => c.set('k', 'v')), 'OK');
      server.pause();
      for (let i = 0; i < 3; i++) {
        await assert.rejects(
          store.run((c) => c.get('k')),
          RedisTimeoutError,
        );
      }
      assert.equal(store.breakerState(), 'open');
      let sent = false;
      await assert.rejects(
        store.run((c) => {
          sent = true;
          return c.get('k');
        }),
        RedisUnavailableError,
      );
      assert.equal(sent, false, 'the command is not even handed to the client');
      assert.equal((await metrics.redisBreakerState.get()).values[0]?.value, 2);
      assert.equal((await store.ping()).status, 'down', '/health does not wait on the hung server');

      server.resume();
      await until('the breaker to close', () => store.available());
      assert.equal(await store.run((c) => c.get('k')), 'v');
      const transitions = (await metrics.redisBreakerTransitions.get()).values;
      assert.ok(transitions.some((v) => v.labels.to === 'closed' && v.value === 1));
    } finally {
      await store.close();
      await server.close();
    }
  });
});
