import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { GatewayRateLimitError } from '../core/errors.js';
import { FailureThrottle } from './failure-throttle.js';

describe('failed-authentication throttle', () => {
  test('a source that spent its burst is refused with 429 and a Retry-After until it refills', () => {
    const clock = fakeClock();
    const throttle = new FailureThrottle({ per_minute: 6, burst: 3, max_sources: 100 }, clock);
    for (let i = 0; i < 3; i++) {
      throttle.assertAllowed('10.0.0.1');
      throttle.failed('10.0.0.1');
    }
    assert.throws(
      () => throttle.assertAllowed('10.0.0.1'),
      (err: unknown) => {
        assert.ok(err instanceof GatewayRateLimitError);
        assert.equal(err.status, 429);
        assert.equal(err.code, 'rate_limit_exceeded');
        // 6 a minute: one attempt back after ~10 s.
        assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 9_000 && err.retryAfterMs <= 10_000);
        return true;
      },
    );
    throttle.assertAllowed('10.0.0.2'); // another source is not affected
    clock.advance(10_000);
    throttle.assertAllowed('10.0.0.1');
  });

  test('only failures count, and memory is bounded by max_sources', () => {
    const clock = fakeClock();
    const throttle = new FailureThrottle({ per_minute: 1, burst: 1, max_sources: 50 }, clock);
    for (let i = 0; i < 1000; i++) throttle.assertAllowed(`192.0.2.${i}`);
    assert.equal(throttle.size, 0, 'checks alone keep nothing');
    for (let i = 0; i < 1000; i++) throttle.failed(`198.51.100.${i}`);
    assert.ok(throttle.size <= 50, `tracked sources: ${throttle.size}`);
  });

  test('per_minute 0 turns it off', () => {
    const throttle = new FailureThrottle({ per_minute: 0, burst: 1, max_sources: 10 }, fakeClock());
    for (let i = 0; i < 10; i++) throttle.failed('x');
    throttle.assertAllowed('x');
    assert.equal(throttle.size, 0);
  });
});
