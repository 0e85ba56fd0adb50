/**
 * The one source of time (DESIGN §2): monotonic milliseconds for durations and deadlines, wall time for
 * timestamps, periods and expiries, sleeps for backoff, and randomness for jitter. Everything that needs time
 * is handed a `Clock`; tests pass one fake clock and never depend on today's date.
 *
 * This module is the only place that reads the real clock (`Date.now()`, `performance.now()`).
 *
 * @example
 * const started = clock.now();
 * await clock.sleep(100, signal);
 * const day = new Date(clock.wallNow()).toISOString().slice(0, 10);
 */

export interface Clock {
  /** Monotonic milliseconds (an arbitrary origin): durations, deadlines, timings. */
  now(): number;
  /** Milliseconds since the Unix epoch: record timestamps, budget periods, key expiry. */
  wallNow(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Uniform in [0, 1). */
  random(): number;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    }),
  random: Math.random,
};

/** Wall-clock ISO timestamp of `clock`. */
export function isoNow(clock: Pick<Clock, 'wallNow'>): string {
  return new Date(clock.wallNow()).toISOString();
}

/** Whole seconds since the epoch (OpenAI's `created`). */
export function unixSeconds(clock: Pick<Clock, 'wallNow'>): number {
  return Math.floor(clock.wallNow() / 1000);
}
