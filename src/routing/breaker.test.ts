import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BreakerSettings, type BreakerState, CircuitBreaker } from './breaker.js';

const SETTINGS: BreakerSettings = {
  failureRateThreshold: 0.5,
  windowMs: 10_000,
  minRequests: 4,
  consecutiveFailures: 3,
  cooldownMs: 5_000,
  halfOpenProbes: 1,
};

function setup(overrides: Partial<BreakerSettings> = {}) {
  let now = 1_000_000;
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker(
    { ...SETTINGS, ...overrides },
    () => now,
    (s) => changes.push(s),
  );
  return {
    breaker,
    changes,
    advance(ms: number) {
      now += ms;
    },
    /** One request through the breaker with the given outcome; false when the breaker refused it. */
    call(outcome: 'ok' | 'fail' | 'neutral'): boolean {
      if (!breaker.tryAcquire()) return false;
      if (outcome === 'ok') breaker.success();
      else if (outcome === 'fail') breaker.failure();
      else breaker.release();
      return true;
    },
  };
}

describe('CircuitBreaker', () => {
  test('opens after N consecutive failures and refuses requests while open', () => {
    const t = setup({ minRequests: 100 });
    t.call('fail');
    t.call('fail');
    assert.equal(t.breaker.state, 'closed');
    t.call('fail');
    assert.equal(t.breaker.state, 'open');
    assert.deepEqual(t.changes, ['open']);
    assert.equal(t.call('ok'), false, 'an open breaker lets nothing through');
    assert.equal(t.breaker.retryInMs(), 5_000);
  });

  test('a success resets the consecutive count', () => {
    const t = setup({ minRequests: 100 });
    t.call('fail');
    t.call('fail');
    t.call('ok');
    t.call('fail');
    t.call('fail');
    assert.equal(t.breaker.state, 'closed');
  });

  test('opens on the failure rate once the window holds the minimum requests', () => {
    const t = setup({ consecutiveFailures: 0 });
    t.call('fail');
    t.call('ok');
    t.call('fail');
    assert.equal(t.breaker.state, 'closed', '3 requests are under the minimum of 4');
    t.call('ok');
    // 2 of 4 failed: at the threshold of 0.5 — but the rate is checked on failures only.
    assert.equal(t.breaker.state, 'closed');
    t.call('fail');
    assert.equal(t.breaker.state, 'open', '3 of 5 failed');
  });

  test('failures older than the window no longer count', () => {
    const t = setup({ consecutiveFailures: 0 });
    t.call('fail');
    t.call('fail');
    t.call('fail');
    t.advance(11_000);
    t.call('ok');
    t.call('ok');
    t.call('ok');
    t.call('fail');
    assert.equal(t.breaker.snapshot().requestsInWindow, 4);
    assert.equal(t.breaker.state, 'closed', '1 of 4 in the window failed');
  });

  test('after the cool-down one probe goes through; its success closes the breaker', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.call('fail');
    t.advance(4_999);
    assert.equal(t.breaker.state, 'open');
    t.advance(1);
    assert.equal(t.breaker.state, 'half_open');
    assert.equal(t.breaker.tryAcquire(), true, 'the probe');
    assert.equal(t.breaker.tryAcquire(), false, 'only one probe at a time');
    t.breaker.success();
    assert.equal(t.breaker.state, 'closed');
    assert.deepEqual(t.changes, ['open', 'half_open', 'closed']);
    assert.equal(t.breaker.snapshot().errorRate, 0, 'closing starts a fresh window');
  });

  test('a failed probe opens the breaker for another cool-down', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.call('fail');
    t.advance(5_000);
    t.call('fail');
    assert.equal(t.breaker.state, 'open');
    assert.equal(t.breaker.retryInMs(), 5_000);
    assert.deepEqual(t.changes, ['open', 'half_open', 'open']);
  });

  test('a probe that says nothing about the deployment frees its slot without closing', () => {
    const t = setup({ halfOpenProbes: 2 });
    for (let i = 0; i < 3; i++) t.call('fail');
    t.advance(5_000);
    assert.equal(t.breaker.tryAcquire(), true);
    assert.equal(t.breaker.tryAcquire(), true);
    assert.equal(t.breaker.tryAcquire(), false, 'two probes configured');
    t.breaker.release();
    assert.equal(t.breaker.state, 'half_open');
    assert.equal(t.breaker.tryAcquire(), true, 'the released slot is free again');
  });

  test('neutral outcomes do not count in the window', () => {
    const t = setup({ consecutiveFailures: 0, minRequests: 1 });
    t.call('neutral');
    t.call('neutral');
    assert.equal(t.breaker.snapshot().requestsInWindow, 0);
  });
});
