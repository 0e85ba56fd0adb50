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
 * The wait before the retry that follows failed attempt number `attempt` (1 = the first), or -1 when there
 * is none: the error is not a retriable `GatewayError`, the attempts are used up, `signal` aborted, or the
 * wait would pass the deadline or the policy's cap (a Retry-After longer than `maxDelayMs` is not waited
 * for: the error goes back to the client with its Retry-After instead). The one rule `withRetry` and the
 * call stage's own loop (pipeline/call.ts) share.
 */
export function retryDelay(
  err: unknown,
  attempt: number,
  policy: RetryPolicy,
  clock: RetryClock,
  signal: AbortSignal,
  deadline: number,
): number {
  if (!(err instanceof GatewayError) || !err.isRetryable || attempt >= policy.maxAttempts) return -1;
  if (signal.aborted) return -1;
  const delayMs = backoffDelay(attempt, policy, clock.random, err.retryAfterMs);
  if (delayMs > policy.maxDelayMs || clock.now() + delayMs >= deadline) return -1;
  return delayMs;
}

/**
 * Runs `fn` until it succeeds, fails permanently, runs out of attempts, or a wait would pass the deadline
 * or the policy's cap (`retryDelay`).
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, clock, signal } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delayMs = retryDelay(err, attempt, policy, clock, signal, options.deadline);
      if (delayMs < 0) throw err;
      options.onRetry?.({ attempt, delayMs, error: err as GatewayError });
      await clock.sleep(delayMs, signal);
    }
  }
}
