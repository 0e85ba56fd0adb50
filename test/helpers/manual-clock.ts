/**
 * A clock for rate-limit tests: real time plus an offset the test moves (`advance`), or fixed away from
 * the machine's clock (`offsetMs`, for clock-skew tests). Sleeps resolve at once, like `fakeClock`.
 */
import type { RetryClock } from '../../src/resilience/retry.js';

export interface ManualClock extends RetryClock {
  advance(ms: number): void;
}

export function manualClock(offsetMs = 0): ManualClock {
  let offset = offsetMs;
  return {
    now: () => performance.now() + offset,
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
