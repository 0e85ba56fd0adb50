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
  return isoOf(clock.wallNow());
}

/** The last second formatted by `isoOf`, and its `YYYY-MM-DDTHH:MM:SS.` prefix. */
let isoSecond = Number.NaN;
let isoPrefix = '';
/** 9999-12-31T23:59:59.999Z: four-digit years keep the prefix's length. */
const LAST_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999;

/**
 * `new Date(ms).toISOString()`, without building a `Date` and formatting it for every call: the second's
 * prefix is formatted once and the milliseconds appended (a request formats several timestamps: the usage
 * record's, the log line's). Whole milliseconds from 1970 to year 9999 take this path; anything else is
 * formatted by `Date` (the same string either way).
 */
export function isoOf(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > LAST_FOUR_DIGIT_YEAR_MS) return new Date(ms).toISOString();
  const millis = ms % 1000;
  const second = ms - millis;
  if (second !== isoSecond) {
    isoPrefix = new Date(second).toISOString().slice(0, 20);
    isoSecond = second;
  }
  return `${isoPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** pino's `timestamp` option: the real clock's time as pino's `isoTime` writes it (`,"time":"…"`). */
export function logTimestamp(): string {
  return `,"time":"${isoOf(Date.now())}"`;
}

/** Whole seconds since the epoch (OpenAI's `created`). */
export function unixSeconds(clock: Pick<Clock, 'wallNow'>): number {
  return Math.floor(clock.wallNow() / 1000);
}
