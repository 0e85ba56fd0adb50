import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfig } from '../config/load.js';
import { type BucketSpec, resetDuration, takeAll } from './bucket.js';
import { tierLimits } from './feature.js';
import { MemoryRateLimiter } from './memory.js';

const PER_MINUTE_10: BucketSpec = { name: 'r', ratePerMs: 10 / 60_000, capacity: 20, cost: 1 };

describe('token bucket math', () => {
  test('a new bucket is full; each take removes the cost', () => {
    const { result, next } = takeAll([undefined], [PER_MINUTE_10], 1_000, 'take');
    assert.equal(result.allowed, true);
    assert.equal(result.buckets[0]?.tokens, 19);
    assert.deepEqual(next, [{ tokens: 19, ts: 1_000 }]);
  });

  test('refills at the rate, never above capacity', () => {
    // Empty at t=0; 10/min = one token every 6 s.
    const empty = [{ tokens: 0, ts: 0 }];
    assert.equal(takeAll(empty, [PER_MINUTE_10], 5_999, 'take').result.allowed, false);
    const at6 = takeAll(empty, [PER_MINUTE_10], 6_000, 'take');
    assert.equal(at6.result.allowed, true);
    assert.ok(Math.abs((at6.result.buckets[0]?.tokens ?? -1) - 0) < 1e-9);
    const muchLater = takeAll(empty, [PER_MINUTE_10], 3_600_000, 'peek');
    assert.equal(muchLater.result.buckets[0]?.tokens, 20);
    assert.equal(muchLater.next, null, 'peek writes nothing');
  });

  test('denied: retry-after is the time until one token is back, reset the time until full', () => {
    const { result, next } = takeAll([{ tokens: 0.5, ts: 0 }], [PER_MINUTE_10], 0, 'take');
    assert.equal(result.allowed, false);
    assert.equal(result.buckets[0]?.retryAfterMs, 3_000);
    assert.equal(result.buckets[0]?.resetMs, 117_000);
    assert.equal(next, null, 'a denied take changes nothing');
  });

  test('all or nothing over several buckets; force may go below zero and refunds stop at capacity', () => {
    const tokens: BucketSpec = { name: 't', ratePerMs: 1000 / 60_000, capacity: 1000, cost: 600 };
    const stored = [undefined, { tokens: 500, ts: 0 }];
    const denied = takeAll(stored, [PER_MINUTE_10, tokens], 0, 'take');
    assert.equal(denied.result.allowed, false);
    assert.equal(denied.next, null, 'the request bucket is not charged either');
    const forced = takeAll([{ tokens: 100, ts: 0 }], [{ ...tokens, cost: 300 }], 0, 'force');
    assert.equal(forced.result.buckets[0]?.tokens, -200);
    const refund = takeAll([{ tokens: 900, ts: 0 }], [{ ...tokens, cost: -500 }], 0, 'force');
    assert.equal(refund.result.buckets[0]?.tokens, 1000);
  });
});

describe('memory backend', () => {
  test('burst to capacity, then refused until the fake clock refills', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ maxBuckets: 100, now: () => now });
    const spec: BucketSpec = { name: 'r', ratePerMs: 60 / 60_000, capacity: 3, cost: 1 };
    for (let i = 0; i < 3; i++) assert.equal((await limiter.take('u', [spec], 'take')).allowed, true);
    const denied = await limiter.take('u', [spec], 'take');
    assert.equal(denied.allowed, false);
    assert.equal(denied.buckets[0]?.retryAfterMs, 1_000);
    assert.equal((await limiter.take('other', [spec], 'take')).allowed, true, 'another user is independent');
    now += 1_000;
    assert.equal((await limiter.take('u', [spec], 'take')).allowed, true);
    assert.equal((await limiter.take('u', [spec], 'take')).allowed, false);
  });

  test('memory is bounded: full buckets and then the least recently used are dropped', async () => {
    let now = 0;
    const limiter = new MemoryRateLimiter({ maxBuckets: 50, now: () => now });
    const spec: BucketSpec = { name: 'r', ratePerMs: 1 / 60_000, capacity: 5, cost: 1 };
    for (let i = 0; i < 500; i++) {
      await limiter.take(`user-${i}`, [spec], 'take');
      now += 1;
    }
    assert.ok(limiter.size <= 50, `kept ${limiter.size}`);
    // The most recent user keeps its state.
    assert.equal((await limiter.take('user-499', [spec], 'peek')).buckets[0]?.tokens.toFixed(3), '4.000');
  });
});

describe('rate-limit configuration', () => {
  test('defaults: 10 per minute, capacity 20; tiers; env overrides', () => {
    const config = loadConfig({ env: {} });
    assert.deepEqual(tierLimits(config.rate_limit, 'free'), {
      tier: 'free',
      ratePerMinute: 10,
      capacity: 20,
      tokensPerMinute: null,
      tokenCapacity: null,
    });
    assert.equal(tierLimits(config.rate_limit, 'pro').capacity, 120);
    assert.equal(tierLimits(config.rate_limit, 'nonesuch').tier, 'default');
    const env = loadConfig({
      env: { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_DEFAULT_RATE: '2.5', RATE_LIMIT_DEFAULT_CAPACITY: '7' },
    });
    assert.equal(env.rate_limit.enabled, false);
    assert.equal(tierLimits(env.rate_limit, 'free').ratePerMinute, 2.5);
    assert.equal(tierLimits(env.rate_limit, 'free').capacity, 7);
  });

  test('auth.mode is keys when GATEWAY_ADMIN_KEY is set, unless set explicitly', () => {
    assert.equal(loadConfig({ env: {} }).auth.mode, 'none');
    assert.equal(loadConfig({ env: { GATEWAY_ADMIN_KEY: 'x' } }).auth.mode, 'keys');
    assert.equal(loadConfig({ env: { GATEWAY_ADMIN_KEY: 'x', AUTH_MODE: 'none' } }).auth.mode, 'none');
    assert.equal(
      loadConfig({ env: { GATEWAY_ADMIN_KEY: 'x' }, yamlText: 'auth:\n  mode: none\n' }).auth.mode,
      'none',
    );
  });
});

test("resetDuration: OpenAI's (Go's) duration format, rounded up to whole milliseconds", () => {
  assert.equal(resetDuration(0), '0s');
  assert.equal(resetDuration(0.2), '1ms');
  assert.equal(resetDuration(250), '250ms');
  assert.equal(resetDuration(1000), '1s');
  assert.equal(resetDuration(1500), '1.5s');
  assert.equal(resetDuration(8640), '8.64s');
  assert.equal(resetDuration(360_000), '6m0s');
  assert.equal(resetDuration(61_001), '1m1.001s');
  assert.equal(resetDuration(3_600_000), '1h0m0s');
  assert.equal(resetDuration(-5), '0s');
});
