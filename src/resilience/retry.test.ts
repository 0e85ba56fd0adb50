import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthError,
  BadRequestError,
  type GatewayError,
  InvalidRequestError,
  ProviderUnavailableError,
  RateLimitError,
  TimeoutError,
} from '../core/errors.js';
import {
  backoffCeiling,
  backoffDelay,
  type RetryClock,
  type RetryPolicy,
  retryDelay,
  systemClock,
  withRetry,
} from './retry.js';

/** A clock whose time only moves when the code under test sleeps; every sleep is recorded. */
class FakeClock implements RetryClock {
  time = 0;
  readonly sleeps: number[] = [];
  randoms: number[] = [];
  /** Called at the start of each sleep (e.g. to abort mid-wait). */
  onSleep: ((ms: number) => void) | null = null;

  now(): number {
    return this.time;
  }

  /** Wall time moves with the fake time, from a fixed epoch (never today's date). */
  wallNow(): number {
    return Date.UTC(2024, 0, 15, 12) + this.time;
  }

  random = (): number => {
    const next = this.randoms.shift();
    assert.notEqual(next, undefined, 'random() called more often than stubbed');
    return next as number;
  };

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    this.onSleep?.(ms);
    if (signal.aborted) return Promise.reject(signal.reason);
    this.time += ms;
    return Promise.resolve();
  }
}

const policy: RetryPolicy = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 30_000 };

/** A function failing with the given errors in turn, then answering 'ok'; counts its calls. */
function flaky(...errors: GatewayError[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    const err = errors.shift();
    if (err) throw err;
    return 'ok';
  };
  return { fn, calls };
}

function run<T>(
  fn: (attempt: number) => Promise<T>,
  clock: FakeClock,
  overrides: { policy?: RetryPolicy; deadline?: number; signal?: AbortSignal } = {},
): Promise<T> {
  return withRetry(fn, {
    policy: overrides.policy ?? policy,
    clock,
    signal: overrides.signal ?? new AbortController().signal,
    deadline: overrides.deadline ?? Number.POSITIVE_INFINITY,
  });
}

const unavailable = () => new ProviderUnavailableError('HTTP 503', 'openai', { upstreamStatus: 503 });

describe('backoff delays (full jitter)', () => {
  test('each retry waits within [0, min(cap, base·2^(n-1)))', () => {
    const p: RetryPolicy = { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 3_000 };
    const ceilings = [500, 1_000, 2_000, 3_000, 3_000, 3_000];
    ceilings.forEach((ceiling, i) => {
      const retry = i + 1;
      assert.equal(
        backoffDelay(retry, p, () => 0),
        0,
        `retry ${retry}, random 0`,
      );
      assert.equal(
        backoffDelay(retry, p, () => 0.5),
        ceiling / 2,
        `retry ${retry}, random 0.5`,
      );
      const top = backoffDelay(retry, p, () => 0.999_999);
      assert.ok(top < ceiling && top >= ceiling - 1, `retry ${retry}: ${top} just under ${ceiling}`);
    });
  });

  test('the ceiling doubles per retry up to the cap', () => {
    const p: RetryPolicy = { maxAttempts: 10, baseDelayMs: 500, maxDelayMs: 3_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => backoffCeiling(n, p)),
      [500, 1_000, 2_000, 3_000, 3_000],
    );
  });

  test('withRetry sleeps the jittered delay before each retry', async () => {
    const clock = new FakeClock();
    clock.randoms = [0.25, 0.75, 0.5];
    const { fn, calls } = flaky(unavailable(), unavailable(), unavailable());
    const p = { maxAttempts: 4, baseDelayMs: 400, maxDelayMs: 1_000 };
    assert.equal(await run(fn, clock, { policy: p }), 'ok');
    assert.deepEqual(calls, [1, 2, 3, 4]);
    // ceilings 400, 800, min(1000, 1600)
    assert.deepEqual(clock.sleeps, [100, 600, 500]);
  });

  test('a jittered delay never reaches the ceiling, whatever the random source gives', async () => {
    for (const r of [0, 0.1, 0.5, 0.9, 0.999_999_999]) {
      const clock = new FakeClock();
      clock.randoms = [r, r];
      const { fn } = flaky(unavailable(), unavailable());
      await run(fn, clock);
      const [first, second] = clock.sleeps as [number, number];
      assert.ok(first >= 0 && first < 500, `first wait ${first}`);
      assert.ok(second >= 0 && second < 1_000, `second wait ${second}`);
    }
  });
});

describe('Retry-After', () => {
  test('is waited exactly, without jitter', async () => {
    const clock = new FakeClock();
    const { fn, calls } = flaky(new RateLimitError('slow down', 'openai', { retryAfterMs: 1_234 }));
    assert.equal(await run(fn, clock), 'ok');
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(clock.sleeps, [1_234]);
  });

  test('is honoured on a 5xx too', async () => {
    const clock = new FakeClock();
    const busy = new ProviderUnavailableError('HTTP 503', 'openai', { retryAfterMs: 2_000 });
    const { fn } = flaky(busy);
    await run(fn, clock);
    assert.deepEqual(clock.sleeps, [2_000]);
  });

  test('longer than maxDelayMs is not waited: the error goes back at once, Retry-After kept', async () => {
    const clock = new FakeClock();
    const limited = new RateLimitError('slow down', 'openai', { retryAfterMs: 30_001 });
    const { fn, calls } = flaky(limited);
    await assert.rejects(run(fn, clock), (err) => err === limited);
    assert.deepEqual(calls, [1]);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(limited.retryAfterMs, 30_001);
  });

  test('exactly maxDelayMs is still waited', async () => {
    const clock = new FakeClock();
    const { fn } = flaky(new RateLimitError('slow down', 'openai', { retryAfterMs: 30_000 }));
    assert.equal(await run(fn, clock), 'ok');
    assert.deepEqual(clock.sleeps, [30_000]);
  });
});

describe('what is retried', () => {
  const permanent: Array<[string, () => Error]> = [
    ['AuthError', () => new AuthError('bad key', 'openai', { upstreamStatus: 401 })],
    ['InvalidRequestError', () => new InvalidRequestError('bad body', 'openai', { upstreamStatus: 400 })],
    ['BadRequestError', () => new BadRequestError('unknown model', 'model_not_found')],
    ['a plain Error (bug, not an upstream failure)', () => new Error('boom')],
  ];
  for (const [name, make] of permanent) {
    test(`${name} is not retried`, async () => {
      const clock = new FakeClock();
      const err = make();
      let calls = 0;
      const fn = async () => {
        calls++;
        throw err;
      };
      await assert.rejects(run(fn, clock), (e) => e === err);
      assert.equal(calls, 1);
      assert.deepEqual(clock.sleeps, []);
    });
  }

  test('rate limit, timeout and unavailable are retried', async () => {
    const clock = new FakeClock();
    clock.randoms = [0, 0];
    const { fn, calls } = flaky(new RateLimitError('429', 'openai'), new TimeoutError('slow', 'openai'));
    assert.equal(await run(fn, clock), 'ok');
    assert.deepEqual(calls, [1, 2, 3]);
  });

  test('maxAttempts counts the first attempt; the last error is thrown', async () => {
    const clock = new FakeClock();
    clock.randoms = [0, 0];
    const errors = [unavailable(), unavailable(), unavailable(), unavailable()];
    const last = errors[2];
    const { fn, calls } = flaky(...errors);
    await assert.rejects(run(fn, clock), (e) => e === last);
    assert.deepEqual(calls, [1, 2, 3]);
    assert.equal(clock.sleeps.length, 2);
  });

  test('maxAttempts 1 means no retry at all', async () => {
    const clock = new FakeClock();
    const { fn, calls } = flaky(unavailable());
    await assert.rejects(run(fn, clock, { policy: { ...policy, maxAttempts: 1 } }));
    assert.deepEqual(calls, [1]);
    assert.deepEqual(clock.sleeps, []);
  });
});

describe('deadline and abort', () => {
  test('no retry starts when its wait would pass the deadline', async () => {
    const clock = new FakeClock();
    const limited = new RateLimitError('429', 'openai', { retryAfterMs: 1_000 });
    const { fn, calls } = flaky(limited);
    await assert.rejects(run(fn, clock, { deadline: 999 }), (e) => e === limited);
    assert.deepEqual(calls, [1]);
    assert.deepEqual(clock.sleeps, []);
  });

  test('the deadline is checked before every retry, against the time already spent', async () => {
    const clock = new FakeClock();
    const errors = [1_000, 1_000, 1_000].map(
      (ms) => new RateLimitError('429', 'openai', { retryAfterMs: ms }),
    );
    const { fn, calls } = flaky(...errors);
    // 0 → wait 1000 → attempt 2 at t=1000 → a second wait would end at 2000 ≥ 1500.
    await assert.rejects(run(fn, clock, { deadline: 1_500, policy: { ...policy, maxAttempts: 5 } }));
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(clock.sleeps, [1_000]);
  });

  test('an abort during the wait stops: no further attempt, the abort reason is thrown', async () => {
    const clock = new FakeClock();
    clock.randoms = [0.5];
    const controller = new AbortController();
    const reason = new Error('client went away');
    clock.onSleep = () => controller.abort(reason);
    const { fn, calls } = flaky(unavailable(), unavailable());
    await assert.rejects(run(fn, clock, { signal: controller.signal }), (e) => e === reason);
    assert.deepEqual(calls, [1]);
  });

  test('an abort during an attempt is not followed by a wait or a retry', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const err = unavailable();
    let calls = 0;
    const fn = async () => {
      calls++;
      controller.abort(new Error('gone'));
      throw err;
    };
    await assert.rejects(run(fn, clock, { signal: controller.signal }), (e) => e === err);
    assert.equal(calls, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  test('the real clock rejects a sleep when the signal aborts', async () => {
    const controller = new AbortController();
    const started = performance.now();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
    assert.ok(performance.now() - started < 1_000);
  });
});

describe('retryDelay (the rule the call stage’s own loop shares with withRetry)', () => {
  const live = new AbortController().signal;

  test('a retriable error within the attempts and the deadline: the jittered wait', () => {
    const clock = new FakeClock();
    clock.randoms = [0.5];
    assert.equal(retryDelay(unavailable(), 1, policy, clock, live, Number.POSITIVE_INFINITY), 250);
  });

  test('-1 (no retry): not retriable, attempts used up, request aborted, or past the deadline', () => {
    const clock = new FakeClock();
    const invalid = new InvalidRequestError('bad', 'openai', { upstreamStatus: 400 });
    assert.equal(retryDelay(invalid, 1, policy, clock, live, Number.POSITIVE_INFINITY), -1);
    assert.equal(retryDelay(new Error('bug'), 1, policy, clock, live, Number.POSITIVE_INFINITY), -1);
    assert.equal(retryDelay(unavailable(), 3, policy, clock, live, Number.POSITIVE_INFINITY), -1);
    const aborted = new AbortController();
    aborted.abort(new Error('gone'));
    assert.equal(retryDelay(unavailable(), 1, policy, clock, aborted.signal, Number.POSITIVE_INFINITY), -1);
    clock.randoms = [0.5];
    assert.equal(retryDelay(unavailable(), 1, policy, clock, live, 100), -1, 'a 250 ms wait passes 100 ms');
  });
});
