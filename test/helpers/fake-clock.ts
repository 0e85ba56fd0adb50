/**
 * A retry clock for integration tests: waits resolve at once (still rejecting on abort), and every wait the
 * gateway asked for is recorded, so a test can assert the backoff without spending real time on it.
 */
import type { RetryClock } from '../../src/resilience/retry.js';

export interface FakeClock extends RetryClock {
  /** Every wait requested, in ms, in order. */
  readonly waits: number[];
}

/** `random` is fixed (default 0.5) so jittered waits are predictable. */
export function fakeClock(random = 0.5): FakeClock {
  const waits: number[] = [];
  let skipped = 0;
  return {
    waits,
    // Real time plus the time the gateway "slept", so deadlines still move forward.
    now: () => performance.now() + skipped,
    random: () => random,
    sleep(ms, signal) {
      waits.push(ms);
      if (signal.aborted) return Promise.reject(signal.reason);
      skipped += ms;
      return Promise.resolve();
    },
  };
}
