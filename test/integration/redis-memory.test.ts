/**
 * A full Redis must never starve limits and budgets (decision 0086): every key the gateway writes has a
 * TTL, cache keys always a shorter one than rate-limit buckets and budget counters, and with
 * `maxmemory-policy volatile-ttl` (deploy/compose.yaml) Redis evicts the cache first. Tested against a
 * private redis-server with a tiny `maxmemory`, filled past it through the gateway's own cache.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway } from '../helpers/gateway.js';
import { REPO_ROOT } from '../helpers/process.js';
import { type PrivateRedis, requireServices, startRedisServer, uniquePrefix } from '../helpers/services.js';

const skip = await requireServices('redis');

test('the compose Redis has a memory bound and evicts keys closest to expiry first', () => {
  const compose = parseYaml(readFileSync(`${REPO_ROOT}deploy/compose.yaml`, 'utf8')) as {
    services: { redis: { command: string[] } };
  };
  const command = compose.services.redis.command.join(' ');
  assert.match(command, /--maxmemory \d+[kmg]b/);
  assert.match(command, /--maxmemory-policy volatile-ttl/);
});

describe('Redis at maxmemory (volatile-ttl): the cache is evicted, limits and budgets stay', { skip }, () => {
  let mock: MockUpstream;
  let redis: PrivateRedis;
  let gw: TestGateway;
  let raw: Redis;
  const prefix = uniquePrefix('memory');

  before(async () => {
    mock = await MockUpstream.start({ recordRequests: false });
    // Large, incompressible answers: each one a ~40 KB cache entry.
    mock.setAnswer(() => {
      const text = randomBytes(30_000).toString('base64');
      return { text, chunks: [text] };
    });
    redis = await startRedisServer(['--maxmemory', '8mb', '--maxmemory-policy', 'volatile-ttl']);
    raw = new Redis(redis.url);
    gw = await startGateway({
      mock,
      env: {
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: prefix,
        // Generous: the point here is memory, not latency, on a shared machine.
        REDIS_COMMAND_TIMEOUT_MS: '2000',
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_CAPACITY: '1000',
        RATE_LIMIT_DEFAULT_RATE: '1',
        BUDGET_DEFAULT_DAILY_USD: '1000',
        CACHE_TTL_SECONDS: '3600',
      },
    });
  });
  after(async () => {
    raw.disconnect();
    await gw.close();
    await redis.close();
    await mock.close();
  });

  const ask = (user: string, n: number) =>
    postJson(
      `${gw.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', temperature: 0, messages: [{ role: 'user', content: `question ${n}` }] },
      { 'x-user-id': user },
    );

  test('limit and budget keys of a user survive a cache filled far past maxmemory', {
    timeout: 120_000,
  }, async () => {
    for (let i = 0; i < 3; i++) {
      const res = await ask('held', -1 - i);
      assert.equal(res.status, 200);
      await res.text();
    }
    const [bucket] = await raw.keys(`${prefix}rl:{held}:r`);
    const [budget] = await raw.keys(`${prefix}budget:{held}:user:d:*`);
    assert.ok(bucket && budget, 'the user has a bucket and a budget counter');
    const tokens = Number(await raw.hget(bucket, 't'));
    const spent = Number(await raw.get(budget));
    assert.ok(tokens <= 998 && spent > 0);

    // Every key has a TTL, and each cache entry's is shorter than the limit and budget keys'.
    const [entry] = await raw.keys(`${prefix}cache:x:*`);
    assert.ok(entry);
    const [entryTtl = 0, bucketTtl = 0, budgetTtl = 0] = await Promise.all(
      [entry, bucket, budget].map((k) => raw.pttl(k)),
    );
    assert.ok(entryTtl > 0 && bucketTtl > 0 && budgetTtl > 0, 'no key without a TTL');
    assert.ok(entryTtl < bucketTtl && entryTtl < budgetTtl, `${entryTtl} < ${bucketTtl}, ${budgetTtl}`);

    // ~16 MB of cache entries into an 8 MB Redis.
    for (let batch = 0; batch < 40; batch++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => ask('filler', batch * 10 + i)));
      for (const res of answers) {
        assert.equal(res.status, 200, 'a full Redis never fails a request');
        await res.text();
      }
    }
    const stats = await raw.info('stats');
    const evicted = Number(/evicted_keys:(\d+)/.exec(stats)?.[1] ?? 0);
    assert.ok(evicted > 50, `Redis evicted ${evicted} keys`);
    assert.ok((await raw.keys(`${prefix}cache:x:*`)).length < 400, 'cache entries were evicted');

    assert.equal(Number(await raw.get(budget)), spent, 'the budget counter is intact');
    assert.ok(Number(await raw.hget(bucket, 't')) <= tokens + 1, 'the bucket is intact (not reset to full)');
    // And the gateway still enforces from them: the next request sees the drained bucket.
    const res = await ask('held', -9);
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get('x-ratelimit-remaining')) <= 997);
    await res.text();
  });
});
