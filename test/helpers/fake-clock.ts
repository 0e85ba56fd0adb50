/**
 * The one fake clock of the tests (unit and integration): monotonic time is real time plus what the test
 * moved it (`advance`) and what the gateway "slept" (sleeps resolve at once, still rejecting on abort, and
 * are recorded in `waits`, so a test can assert a backoff without spending real time on it). Randomness is
 * fixed or seeded, so jittered waits are predictable.
 *
 * Wall time is never today's date: it starts at a fixed epoch (`TEST_EPOCH_MS` unless the test picks one,
 * plus `offsetMs` for clock-skew tests) and moves with the clock's monotonic time.
 *
 * @example
 * const clock = fakeClock();                  // fixed random 0.5
 * const skewed = fakeClock({ offsetMs: 7_200_000 });
 * const seeded = fakeClock({ seed: 7 });      // deterministic sequence (weighted routing)
 * clock.advance(60_000);                      // refill buckets, expire entries, cool breakers
 */
import type { Clock } from '../../src/core/clock.js';
import { mulberry32 } from '../../src/core/random.js';

/**
 * Default wall time a test clock starts at: noon UTC, so a test never crosses a day (budget periods) unless
 * it moves the clock there; in the past, so nothing the gateway stamps runs ahead of real file times.
 */
export const TEST_EPOCH_MS = Date.UTC(2024, 0, 15, 12);

export interface FakeClockOptions {
  /** `random()` always returns this (default 0.5)… */
  random?: number;
  /** …unless a seed is given: then a deterministic sequence (mulberry32). */
  seed?: number;
  /** Wall time at creation (before `offsetMs`). */
  epochMs?: number;
  /** Start this far from real time, monotonic and wall alike (clock-skew tests). */
  offsetMs?: number;
}

export interface FakeClock extends Clock {
  /** Every wait requested, in ms, in order. */
  readonly waits: number[];
  /** Moves monotonic and wall time forward by `ms`. */
  advance(ms: number): void;
}

export function fakeClock(options: FakeClockOptions = {}): FakeClock {
  const waits: number[] = [];
  let offset = options.offsetMs ?? 0;
  const now = () => performance.now() + offset;
  const fixed = options.random ?? 0.5;
  const random = options.seed === undefined ? () => fixed : mulberry32(options.seed);
  return {
    waits,
    now,
    wallNow: wallFrom(now, (options.epochMs ?? TEST_EPOCH_MS) + (options.offsetMs ?? 0)),
    random,
    sleep(ms, signal) {
      waits.push(ms);
      if (signal.aborted) return Promise.reject(signal.reason);
      offset += ms;
      return Promise.resolve();
    },
    advance(ms) {
      offset += ms;
    },
  };
}

/** `wallNow` for a clock whose monotonic time is `now`: `epochMs` at creation, then moving with `now`. */
export function wallFrom(now: () => number, epochMs: number): () => number {
  const origin = now();
  return () => epochMs + (now() - origin);
}
