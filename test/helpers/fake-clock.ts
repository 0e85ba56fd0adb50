/**
 * A clock for integration tests: waits resolve at once (still rejecting on abort), and every wait the
 * gateway asked for is recorded, so a test can assert the backoff without spending real time on it.
 *
 * Wall time never is today's date: it starts at a fixed epoch (`TEST_EPOCH_MS` unless the test picks one)
 * and moves with the clock's monotonic time, skipped waits included.
 */
import type { Clock } from '../../src/core/clock.js';

/**
 * Default wall time a test clock starts at: noon UTC, so a test never crosses a day (budget periods) unless
 * it moves the clock there; in the past, so nothing the gateway stamps runs ahead of real file times.
 */
export const TEST_EPOCH_MS = Date.UTC(2024, 0, 15, 12);

/** `wallNow` for a clock whose monotonic time is `now`: `epochMs` at creation, then moving with `now`. */
export function wallFrom(now: () => number, epochMs: number): () => number {
  const origin = now();
  return () => epochMs + (now() - origin);
}

export interface FakeClock extends Clock {
  /** Every wait requested, in ms, in order. */
  readonly waits: number[];
}

/** `random` is fixed (default 0.5) so jittered waits are predictable; wall time starts at `epochMs`. */
export function fakeClock(random = 0.5, epochMs = TEST_EPOCH_MS): FakeClock {
  const waits: number[] = [];
  let skipped = 0;
  // Real time plus the time the gateway "slept", so deadlines still move forward.
  const now = () => performance.now() + skipped;
  return {
    waits,
    now,
    wallNow: wallFrom(now, epochMs),
    random: () => random,
    sleep(ms, signal) {
      waits.push(ms);
      if (signal.aborted) return Promise.reject(signal.reason);
      skipped += ms;
      return Promise.resolve();
    },
  };
}
