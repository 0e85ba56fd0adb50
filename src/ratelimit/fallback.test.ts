import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import type { BucketSpec, RateLimiter, TakeResult } from './bucket.js';
import { FallbackRateLimiter, type FallbackTakeResult, localSpecs } from './fallback.js';
import { MemoryRateLimiter } from './memory.js';

const MINUTE = 60_000;
const spec = (capacity: number, perMinute: number): BucketSpec => ({
  name: 'r',
  capacity,
  ratePerMs: perMinute / MINUTE,
  cost: 1,
});

function setup(options: { instances?: number; primary?: RateLimiter } = {}) {
  const clock = fakeClock();
  let up = true;
  const failures: string[] = [];
  const sent: string[] = [];
  const primary: RateLimiter = options.primary ?? {
    backend: 'redis',
    async take(principal): Promise<TakeResult> {
      sent.push(principal);
      return { allowed: true, buckets: [{ tokens: 42, retryAfterMs: 0, resetMs: 0 }] };
    },
  };
  const limiter = new FallbackRateLimiter({
    primary,
    redis: { available: () => up, failed: (operation) => void failures.push(operation) },
    local: new MemoryRateLimiter({ maxBuckets: 100, now: () => clock.now() }),
    instances: options.instances ?? 1,
  });
  const down = () => {
    up = false;
  };
  return { clock, limiter, failures, sent, down };
}

test('Redis available: the shared bucket decides', async () => {
  const { limiter, sent } = setup();
  const result = (await limiter.take('u', [spec(2, 10)], 'take')) as FallbackTakeResult;
  assert.equal(result.buckets[0]?.tokens, 42);
  assert.equal(result.fallback, undefined);
  assert.deepEqual(sent, ['u']);
});

test('Redis skipped: nothing sent, the same tier enforced per instance — over the limit is refused', async () => {
  const { limiter, sent, failures, down, clock } = setup();
  down();
  const results: boolean[] = [];
  for (let i = 0; i < 4; i++) results.push((await limiter.take('u', [spec(2, 10)], 'take')).allowed);
  assert.deepEqual(results, [true, true, false, false]);
  assert.deepEqual(sent, [], 'no command while the breaker is open');
  assert.equal(failures.length, 4);
  // The local bucket refills like the shared one: 10/min → one more after 6 s.
  clock.advance(6_000);
  assert.equal((await limiter.take('u', [spec(2, 10)], 'take')).allowed, true);
  assert.equal((await limiter.take('u', [spec(2, 10)], 'take')).allowed, false);
});

test('a failing Redis call falls back for that call, and it is flagged for the metrics', async () => {
  const { limiter, failures } = setup({
    primary: {
      backend: 'redis',
      take: () => Promise.reject(new Error('Redis did not answer within 50 ms')),
    },
  });
  const result = (await limiter.take('u', [spec(1, 10)], 'take')) as FallbackTakeResult;
  assert.equal(result.allowed, true);
  assert.equal(result.fallback, true);
  assert.equal((await limiter.take('u', [spec(1, 10)], 'take')).allowed, false);
  assert.deepEqual(failures, ['ratelimit.take', 'ratelimit.take']);
});

test('fallback_instances divides capacity and refill; a token cost above the smaller bucket is capped', async () => {
  const [r, t] = localSpecs(
    [spec(30, 60), { name: 't', capacity: 3000, ratePerMs: 3000 / MINUTE, cost: 2000 }],
    3,
  );
  assert.equal(r?.capacity, 10);
  assert.equal(r?.ratePerMs, 20 / MINUTE);
  assert.equal(t?.capacity, 1000);
  assert.equal(t?.cost, 1000, 'still passable on an idle instance');

  const { limiter, down } = setup({ instances: 3 });
  down();
  let allowed = 0;
  for (let i = 0; i < 15; i++) if ((await limiter.take('u', [spec(30, 60)], 'take')).allowed) allowed++;
  assert.equal(allowed, 10);
});
