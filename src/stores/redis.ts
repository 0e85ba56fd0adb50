/**
 * The one Redis connection of a gateway (ioredis), shared by the cache, the rate limiter and budgets.
 *
 * Redis is an accelerator, never a reason to fail a request: commands fail fast while it is down (no
 * offline queue, one bounded wait per call through `withDeadline`), the client reconnects by itself, and
 * every absorbed failure is logged (at most once per `logEveryMs`) and counted in
 * `llm_dependency_errors_total{dependency="redis"}`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';

export interface RedisSettings {
  url: string;
  /** Longest a request-path Redis call may take before the gateway goes on without it. */
  commandTimeoutMs: number;
  /** Prefix of every key this gateway writes (several gateways can share one Redis). */
  keyPrefix: string;
}

export interface RedisStore {
  readonly client: Redis;
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** Whether the connection is up right now (commands would be sent, not refused). */
  isReady(): boolean;
  /** Waits (bounded) for the first connection; false when Redis did not answer in time. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /**
   * Runs a Redis call with a bounded wait. Resolves with its value, or rejects (timeout, connection down,
   * Redis error); callers decide what "going on without Redis" means and call `failed`.
   */
  withDeadline<T>(call: Promise<T>, timeoutMs?: number): Promise<T>;
  /** Records an absorbed failure: metric, and a warning log (rate-limited). */
  failed(operation: string, err: unknown): void;
  ping(timeoutMs?: number): Promise<{ status: 'ok' | 'down'; latency_ms?: number; error?: string }>;
  close(): Promise<void>;
}

export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

export function createRedisStore(
  settings: RedisSettings,
  deps: {
    logger: Logger;
    metrics: Metrics;
    logEveryMs?: number;
    /** Times the log rate limit and `ping` latency (monotonic); the real clock when absent. */
    clock?: Pick<Clock, 'now'>;
  },
): RedisStore {
  const clock = deps.clock ?? systemClock;
  const options: RedisOptions = {
    // Fail fast while disconnected instead of queueing requests behind a dead connection.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    // Reconnect for ever, backing off to 2 s.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: false,
    connectionName: 'llm-gateway',
  };
  const client = new Redis(settings.url, options);
  const logEveryMs = deps.logEveryMs ?? 10_000;
  // -Infinity: the first failure is always logged, however young the (monotonic) clock is.
  let lastLog = Number.NEGATIVE_INFINITY;
  let suppressed = 0;

  function failed(operation: string, err: unknown): void {
    deps.metrics.dependencyErrors.inc({ dependency: 'redis' });
    const now = clock.now();
    if (now - lastLog < logEveryMs) {
      suppressed++;
      return;
    }
    lastLog = now;
    deps.logger.warn(
      {
        event: 'dependency.error',
        dependency: 'redis',
        operation,
        error: err instanceof Error ? err.message : String(err),
        suppressed,
      },
      'Redis failed; going on without it',
    );
    suppressed = 0;
  }

  // Connection errors surface here (and through failing commands); log them like the rest, rate-limited.
  client.on('error', (err: Error) => {
    const now = clock.now();
    if (now - lastLog < logEveryMs) return;
    lastLog = now;
    deps.logger.warn(
      { event: 'dependency.error', dependency: 'redis', error: err.message },
      'Redis connection error',
    );
  });

  function withDeadline<T>(call: Promise<T>, timeoutMs = settings.commandTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisTimeoutError(timeoutMs)), timeoutMs);
    });
    // The call keeps running after a timeout; its late rejection must not be unhandled.
    call.catch(() => undefined);
    return Promise.race([call, timeout]).finally(() => clearTimeout(timer));
  }

  return {
    client,
    keyPrefix: settings.keyPrefix,
    commandTimeoutMs: settings.commandTimeoutMs,
    isReady: () => client.status === 'ready',
    waitReady(timeoutMs) {
      if (client.status === 'ready') return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          client.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        client.on('ready', onReady);
      });
    },
    withDeadline,
    failed,
    async ping(timeoutMs = 500) {
      const started = clock.now();
      try {
        await withDeadline(client.ping(), timeoutMs);
        return { status: 'ok', latency_ms: Math.round((clock.now() - started) * 100) / 100 };
      } catch (err) {
        return { status: 'down', error: err instanceof Error ? err.message : String(err) };
      }
    },
    async close() {
      try {
        await withDeadline(client.quit(), 1_000);
      } catch {
        client.disconnect();
      }
    },
  };
}
