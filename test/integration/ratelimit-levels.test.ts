/**
 * Tenancy levels in one atomic step (DESIGN §7): the memory limiter and the Redis script check every
 * bucket of a call (tier, org, team, key, end user) and charge all of them or none.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { BucketSpec, RateLimiter } from '../../src/ratelimit/bucket.js';
import { FallbackRateLimiter } from '../../src/ratelimit/fallback.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory.js';
import { RedisRateLimiter } from '../../src/ratelimit/redis.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { REDIS_URL, requireServices, uniquePrefix } from '../helpers/services.js';

const rpm = (name: string, level: BucketSpec['level'], n: number): BucketSpec => ({
  name,
  level,
  ratePerMs: n / 60_000,
  capacity: n,
  cost: 1,
});

async function allOrNothing(limiter: RateLimiter, tag: string): Promise<void> {
  const org = rpm('org:o1:r', 'org', 3);
  const teamA = rpm('team:a:r', 'team', 10);
  const teamB = rpm('team:b:r', 'team', 1);
  // Team b's single request passes; its second is refused by the team and charges nothing at the org.
  assert.equal((await limiter.take(tag, [org, teamB], 'take')).allowed, true);
  const refused = await limiter.take(tag, [org, teamB], 'take');
  assert.equal(refused.allowed, false);
  assert.ok((refused.buckets[1]?.tokens ?? 1) < 1, 'the team bucket is the one that refused');
  assert.equal(Math.round(refused.buckets[0]?.tokens ?? 0), 2, 'the org bucket was not charged');
  // Team a spends the org's two remaining requests, then the org refuses though team a has room.
  assert.equal((await limiter.take(tag, [org, teamA], 'take')).allowed, true);
  assert.equal((await limiter.take(tag, [org, teamA], 'take')).allowed, true);
  const capped = await limiter.take(tag, [org, teamA], 'take');
  assert.equal(capped.allowed, false);
  assert.ok((capped.buckets[0]?.tokens ?? 1) < 1, 'the org bucket refused');
  assert.ok((capped.buckets[1]?.tokens ?? 0) >= 7, 'team a still had room and was not charged');
}

describe('rate limits over several levels', () => {
  test('memory: one synchronous step, all buckets or none', async () => {
    const limiter = new MemoryRateLimiter({ maxBuckets: 100, now: () => 0 });
    await allOrNothing(limiter, 'o:o1');
    assert.equal(limiter.size, 3, 'one entry per bucket');
  });

  test('Redis unavailable: every level falls back to its per-instance share, never unlimited', async () => {
    const failures: string[] = [];
    const limiter = new FallbackRateLimiter({
      primary: { backend: 'redis', take: () => Promise.reject(new Error('down')) },
      redis: { available: () => true, failed: (op) => void failures.push(op) },
      local: new MemoryRateLimiter({ maxBuckets: 100, now: () => 0 }),
      instances: 2,
    });
    const org = rpm('org:o1:r', 'org', 4);
    const team = rpm('team:a:r', 'team', 100);
    assert.equal((await limiter.take('o:o1', [org, team], 'take')).allowed, true);
    assert.equal((await limiter.take('o:o1', [org, team], 'take')).allowed, true);
    const third = await limiter.take('o:o1', [org, team], 'take');
    assert.equal(third.allowed, false, 'half of the org limit per instance (2 of 4)');
    assert.equal(third.fallback, true);
    assert.ok((third.buckets[0]?.tokens ?? 1) < 1, 'the org bucket refused');
    assert.deepEqual(failures, ['ratelimit.take', 'ratelimit.take', 'ratelimit.take']);
  });

  describe('Redis: one Lua script, one hash tag', async () => {
    const skip = await requireServices('redis');
    let store: RedisStore | undefined;
    after(async () => store?.close());
    test('all buckets or none; every key in the tag’s slot', { skip }, async () => {
      store = createRedisStore(
        { url: REDIS_URL, commandTimeoutMs: 2_000, keyPrefix: uniquePrefix('levels') },
        { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
      );
      assert.equal(await store.waitReady(2_000), true);
      const limiter = new RedisRateLimiter(store);
      await allOrNothing(limiter, 'o:o1');
      const keys = ['org:o1:r', 'team:a:r', 'team:b:r'].map((n) => limiter.key('o:o1', n));
      for (const k of keys) assert.match(k, /rl:\{o:o1\}:/);
    });
  });
});
