/**
 * Retry with exponential backoff and full jitter, on retriable errors only, honouring the provider's
 * Retry-After. Time is injected (sleep, random, now) so tests never wait for real.
 */
import type { Clock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';

export interface RetryPolicy {
  /** Attempts, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * The clock retries run on: the gateway's one `Clock`, kept under this name for existing importers (new code
 * imports `Clock` from `core/clock.ts`).
 */
export type RetryClock = Clock;

/** The real clock: the one implementation lives in `core/clock.ts`, re-exported for existing importers. */
export { systemClock } from '../core/clock.js';

/**
 * Delay before retry number `retry` (1 = the first retry): full jitter over `base · 2^(retry-1)`, capped.
 * A provider's Retry-After wins when present.
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  return Math.floor(random() * backoffCeiling(retry, policy));
}

/** The longest wait before retry number `retry` (1 = the first retry): `base · 2^(retry-1)`, capped. */
export function backoffCeiling(retry: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
}

export interface RetryOptions {
  policy: RetryPolicy;
  clock: RetryClock;
  signal: AbortSignal;
  /** Absolute time (clock.now()) after which no new attempt starts. */
  deadline: number;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (info: { attempt: number; delayMs: number; error: GatewayError }) => void;
}

/**
 * Runs `fn` until it succeeds, fails permanently, runs out of attempts, or a wait would pass the deadline
 * or the policy's cap (a Retry-After longer than `maxDelayMs` is not waited for: the error goes back to the
 * client with its Retry-After instead).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, clock, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof GatewayError) || !err.isRetryable || attempt >= policy.maxAttempts) throw err;
      if (signal.aborted) throw err;
      const delayMs = backoffDelay(attempt, policy, clock.random, err.retryAfterMs);
      if (delayMs > policy.maxDelayMs || clock.now() + delayMs >= options.deadline) throw err;
      options.onRetry?.({ attempt, delayMs, error: err });
      await clock.sleep(delayMs, signal);
    }
  }
}
