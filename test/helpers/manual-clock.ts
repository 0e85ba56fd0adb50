/**
 * A clock for rate-limit tests: real time plus an offset the test moves (`advance`), or fixed away from
 * the machine's clock (`offsetMs`, for clock-skew tests). Sleeps resolve at once, like `fakeClock`.
 * Wall time starts at `epochMs + offsetMs` (a fixed date, never today's) and moves with the clock.
 */
import type { Clock } from '../../src/core/clock.js';
import { TEST_EPOCH_MS, wallFrom } from './fake-clock.js';

export interface ManualClock extends Clock {
  advance(ms: number): void;
}

export function manualClock(offsetMs = 0, epochMs = TEST_EPOCH_MS): ManualClock {
  let offset = offsetMs;
  const now = () => performance.now() + offset;
  return {
    now,
    wallNow: wallFrom(now, epochMs + offsetMs),
    random: () => 0.5,
    sleep(ms, signal) {
      if (signal.aborted) return Promise.reject(signal.reason);
      offset += ms;
      return Promise.resolve();
    },
    advance(ms) {
      offset += ms;
    },
  };
}
