/**
 * The Redis backend against a real Redis: the Lua script's refill math (clock = Redis TIME), key expiry,
 * two gateway instances sharing one Redis enforcing one global limit — also when their clocks disagree by
 * hours — and a Redis outage mid-run (a private redis-server, never the shared one): the per-instance
 * fallback limits (never unlimited), the failures are counted, then the shared limits hold again once Redis
 * is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { BUCKET_MIN_TTL_MS, RedisRateLimiter } from '../../src/ratelimit/redis.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import {
  type PrivateRedis,
  REDIS_URL,
  requireServices,
  startRedisServer,
  uniquePrefix,
} from '../helpers/services.js';

const skip = await requireServices('redis');

const chat = (gw: TestGateway, user: string) =>
  postJson(
    `${gw.url}/v1/chat/completions`,
    { model: 'gpt-4o-mini', messages: userMessage() },
    { 'x-user-id': user },
  );

describe('Redis token bucket (Lua)', { skip }, () => {
  let store: RedisStore;
  let raw: Redis;
  const prefix = uniquePrefix('rl-lua');
  before(async () => {
    store = createRedisStore(
      { url: REDIS_URL, commandTimeoutMs: 1_000, keyPrefix: prefix },
      { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
    );
    assert.equal(await store.waitReady(2_000), true);
    raw = new Redis(REDIS_URL);
  });
  after(async () => {
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    raw.disconnect();
    await store.close();
  });

  test('refills from the time stored by Redis: 10/min → 1 token 6 s after empty', async () => {
    const limiter = new RedisRateLimiter(store);
    const spec = { name: 'r' as const, ratePerMs: 10 / 60_000, capacity: 20, cost: 1 };
    const key = limiter.key('u1', 'r');
    assert.equal(key, `${prefix}rl:{u1}:r`, 'hash tag on the principal: Cluster-safe');
    const [sec, usec] = await raw.time();
    const redisNow = Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
    // Empty 6.5 s ago (by Redis' clock): 1.08 tokens now.
    await raw.hset(key, 't', '0', 'ts', String(redisNow - 6_500));
    const first = await limiter.take('u1', [spec], 'take');
    assert.equal(first.allowed, true);
    assert.ok(first.buckets[0] && first.buckets[0].tokens >= 0.08 && first.buckets[0].tokens < 0.2);
    const second = await limiter.take('u1', [spec], 'take');
    assert.equal(second.allowed, false);
    const retry = second.buckets[0]?.retryAfterMs ?? 0;
    assert.ok(retry > 4_500 && retry <= 5_520, `retry after ${retry} ms`);
    // Idle keys expire, but never before 25 h: longer than any cache entry lives, so a memory policy of
    // volatile-ttl evicts cache entries first (decision 0086).
    const ttl = await raw.pttl(key);
    assert.ok(ttl > BUCKET_MIN_TTL_MS - 60_000 && ttl <= BUCKET_MIN_TTL_MS, `pttl ${ttl}`);
  });
});

describe('two instances sharing Redis', { skip }, () => {
  let mock: MockUpstream;
  const gws: TestGateway[] = [];
  before(async () => {
    mock = await MockUpstream.start();
  });
  after(async () => {
    for (const gw of gws) await gw.close();
    await mock.close();
  });

  async function pair(offsets: [number, number]): Promise<[TestGateway, TestGateway]> {
    const env = {
      REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('rl-pair'),
      RATE_LIMIT_ENABLED: 'true',
      // 5 per window; the refill (1 per 10 minutes) never adds a token during the test.
      RATE_LIMIT_DEFAULT_CAPACITY: '5',
      RATE_LIMIT_DEFAULT_RATE: '0.1',
      REDIS_COMMAND_TIMEOUT_MS: '2000',
    };
    const a = await startGateway({ mock, env, clock: fakeClock({ offsetMs: offsets[0] }) });
    const b = await startGateway({ mock, env, clock: fakeClock({ offsetMs: offsets[1] }) });
    gws.push(a, b);
    return [a, b];
  }

  async function burst(a: TestGateway, b: TestGateway, user: string, n: number): Promise<number[]> {
    const results = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const res = await chat(i % 2 === 0 ? a : b, user);
        await res.text();
        if (res.status === 429) assert.ok(Number(res.headers.get('retry-after')) >= 1);
        return res.status;
      }),
    );
    return results;
  }

  test('with 5 allowed, exactly 5 of 16 concurrent requests across both instances succeed', async () => {
    const [a, b] = await pair([0, 0]);
    const statuses = await burst(a, b, 'shared-user', 16);
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 429).length, 11);
    // Both instances see the same bucket.
    const fromB = await chat(b, 'shared-user');
    assert.equal(fromB.status, 429);
    await fromB.text();
  });

  test('instances whose clocks differ by two hours still enforce one global limit (Redis TIME)', async () => {
    const [a, b] = await pair([3_600_000, -3_600_000]);
    assert.ok(Math.abs(a.gateway.clock.now() - b.gateway.clock.now() - 7_200_000) < 1_000);
    const statuses = await burst(a, b, 'skewed-user', 16);
    assert.equal(statuses.filter((s) => s === 200).length, 5, statuses.join(','));
  });
});

describe('Redis stopped mid-run', { skip }, () => {
  let mock: MockUpstream;
  let redis: PrivateRedis;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    redis = await startRedisServer();
    gw = await startGateway({
      mock,
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: uniquePrefix('rl-outage'),
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_CAPACITY: '2',
        RATE_LIMIT_DEFAULT_RATE: '0.1',
      },
    });
  });
  after(async () => {
    await gw.close();
    await redis.close();
    await mock.close();
  });

  const metric = async (re: RegExp) =>
    Number(re.exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);

  test('without Redis the per-instance fallback limits (never unlimited), failures are counted, and Redis limits return', async () => {
    const first = await chat(gw, 'u');
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-ratelimit-remaining'), '1');
    await first.text();

    await redis.stop();
    const down: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await chat(gw, 'u');
      down.push(res.status);
      await res.text();
    }
    // The local bucket of this instance starts full (capacity 2): the limit degrades, it does not vanish.
    assert.deepEqual(down, [200, 200, 429, 429]);
    assert.ok((await metric(/llm_dependency_errors_total\{dependency="redis"\} (\d+)/)) >= 4);
    assert.equal(await metric(/llm_rate_limit_checks_total\{result="error"\} (\d+)/), 0);
    assert.equal(await metric(/llm_redis_fallback_total\{feature="ratelimit",result="allowed"\} (\d+)/), 2);
    assert.ok(
      gw.logs.some((l) => l.includes('"event":"dependency.error"') && l.includes('"dependency":"redis"')),
      'a warning is logged',
    );

    // A restarted Redis is empty: the bucket starts full, and the script cache is empty too, so the next
    // EVALSHA gets NOSCRIPT and ioredis reloads the script (the requests below go through that path).
    await redis.start();
    const store = gw.gateway.stores.redis;
    assert.equal(await store?.waitReady(10_000), true, 'reconnects by itself');
    // The breaker probes (PING, in the background) once its cool-down is over; then Redis is used again.
    const deadline = performance.now() + 10_000;
    while (!store?.available()) {
      assert.ok(performance.now() < deadline, 'the breaker closes once Redis answers');
      await new Promise((r) => setTimeout(r, 20));
    }
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(gw, 'u');
      statuses.push(res.status);
      await res.text();
    }
    assert.deepEqual(statuses, [200, 200, 429]);
  });
});
