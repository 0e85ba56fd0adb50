/**
 * The one Redis client of a gateway (ioredis), shared by the cache, the rate limiter and budgets: a single
 * server, a master found through Sentinel, or a Redis Cluster (`redis-client.ts`, decision 0098). Keys are
 * named in `redis-keys.ts`: every script stays in one hash slot (decision 0099).
 *
 * Redis is an accelerator, never a reason to fail a request: commands fail fast while it is down (no
 * offline queue, one bounded wait per call), the client reconnects by itself, and every absorbed failure is
 * logged (at most once per `logEveryMs`) and counted in `llm_dependency_errors_total{dependency="redis"}`.
 *
 * A hung server (SIGSTOP, a stalled host, a black-holed network) is the hard case: the TCP connection stays
 * up, so ioredis keeps sending and every call waits its whole deadline — each request then paid one
 * deadline per Redis call it made (limits, budgets, cache), and the unanswered commands piled up in the
 * connection. Request-path calls therefore go through `run`, behind a breaker (redis-breaker.ts, decision
 * 0086): after consecutive failures Redis is skipped for a cool-down without sending anything, a background
 * PING probes it, and a probe that times out recycles the connection (the pile is dropped, and a black-holed
 * socket is replaced). Its state is the gauge `llm_redis_breaker_state` and part of /health.
 */
import type { Redis } from 'ioredis';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type BreakerState, RedisBreaker } from './redis-breaker.js';
import {
  createRedisClient,
  keyspaceNodes,
  type RedisAccess,
  type RedisClient,
  type RedisTarget,
} from './redis-client.js';

export type { RedisClient, RedisTarget } from './redis-client.js';

export interface RedisSettings {
  /** A single server (shorthand for `target: { mode: 'standalone', url }`). */
  url?: string;
  /** Where Redis is: a single server, a Cluster or Sentinel (decision 0098). */
  target?: RedisTarget;
  /** Credentials and TLS for the cluster and sentinel modes (and a password a URL lacks). */
  access?: RedisAccess;
  /** Longest a request-path Redis call may take before the gateway goes on without it. */
  commandTimeoutMs: number;
  /** Prefix of every key this gateway writes (several gateways can share one Redis). */
  keyPrefix: string;
  /** Consecutive failed calls that open the breaker (default 3). */
  breakerFailures?: number;
  /** How long the open breaker skips Redis before it probes (default 1000 ms). */
  breakerCooldownMs?: number;
}

export interface RedisStore {
  /** A single-server, Sentinel-managed or Cluster client: multi-key commands only within one hash slot. */
  readonly client: RedisClient;
  readonly mode: RedisTarget['mode'];
  readonly keyPrefix: string;
  readonly commandTimeoutMs: number;
  /** Whether the connection is up right now (commands would be sent, not refused). */
  isReady(): boolean;
  /** The breaker's state: `closed` (Redis in use), `open` / `half_open` (skipped; fallbacks in force). */
  breakerState(): BreakerState;
  /**
   * Whether a request-path call would be sent now (breaker closed). False means "go on without Redis";
   * may start the breaker's background probe.
   */
  available(): boolean;
  /** Registers a listener of breaker state changes (the budget store resyncs when Redis is back). */
  onBreakerChange(listener: (state: BreakerState) => void): void;
  /**
   * The request-path way to call Redis: skipped (rejects with `RedisUnavailableError`, nothing sent) while
   * the breaker is open; else sends `command` with a bounded wait and tells the breaker how it went.
   */
  run<T>(command: (client: RedisClient) => Promise<T>, timeoutMs?: number): Promise<T>;
  /**
   * The servers holding keys: each master of a Cluster, else the one connection. Off the request path
   * only (admin SCANs must visit every master).
   */
  nodes(): Redis[];
  /** Waits (bounded) for the first connection; false when Redis did not answer in time. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /**
   * Runs a Redis call with a bounded wait. Resolves with its value, or rejects (timeout, connection down,
   * Redis error); callers decide what "going on without Redis" means and call `failed`.
   */
  withDeadline<T>(call: Promise<T>, timeoutMs?: number): Promise<T>;
  /** Records an absorbed failure: metric, and a warning log (rate-limited). */
  failed(operation: string, err: unknown): void;
  ping(timeoutMs?: number): Promise<{
    status: 'ok' | 'down';
    /** The topology (`/health` shows it). */
    mode: RedisTarget['mode'];
    breaker: BreakerState;
    latency_ms?: number;
    error?: string;
  }>;
  close(): Promise<void>;
}

export class RedisTimeoutError extends Error {
  constructor(ms: number) {
    super(`Redis did not answer within ${ms} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/** A call skipped because the breaker is open (Redis was failing): nothing was sent. */
export class RedisUnavailableError extends Error {
  constructor() {
    super('Redis is being skipped after consecutive failures (breaker open)');
    this.name = 'RedisUnavailableError';
  }
}

const BREAKER_GAUGE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

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
  const target: RedisTarget | undefined =
    settings.target ?? (settings.url ? { mode: 'standalone', url: settings.url } : undefined);
  if (!target) throw new Error('createRedisStore: no Redis given (url or target)');
  const client = createRedisClient(target, settings.access);
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
  // A Cluster reports a failing node as `node error` besides its own `error`.
  // The last connection error, for /health while not connected (a command then fails with ioredis'
  // "Stream isn't writeable …", which says nothing about why). Cleared once connected.
  let lastConnectionError: string | undefined;
  client.on('ready', () => {
    lastConnectionError = undefined;
  });
  const connectionError = (err: Error) => {
    lastConnectionError = err.message;
    const now = clock.now();
    if (now - lastLog < logEveryMs) return;
    lastLog = now;
    deps.logger.warn(
      { event: 'dependency.error', dependency: 'redis', mode: target.mode, error: err.message },
      'Redis connection error',
    );
  };
  client.on('error', connectionError);
  if (target.mode === 'cluster') client.on('node error', connectionError);

  function withDeadline<T>(call: Promise<T>, timeoutMs = settings.commandTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;
    const timeout = new Promise<never>((_, reject) => {
      // Timers run before I/O in each turn of the event loop: after the loop was busy past the deadline
      // (a burst of requests), an answer already waiting in the socket would lose to the timer. The
      // rejection waits for that turn's I/O (setImmediate runs after it), so only a Redis that really did
      // not answer times out.
      timer = setTimeout(() => {
        immediate = setImmediate(() => reject(new RedisTimeoutError(timeoutMs)));
      }, timeoutMs);
    });
    // The call keeps running after a timeout; its late rejection must not be unhandled.
    call.catch(() => undefined);
    return Promise.race([call, timeout]).finally(() => {
      clearTimeout(timer);
      clearImmediate(immediate);
    });
  }

  const listeners: Array<(state: BreakerState) => void> = [];
  deps.metrics.redisBreakerState.set(0);
  const breaker = new RedisBreaker({
    failureThreshold: settings.breakerFailures ?? 3,
    cooldownMs: settings.breakerCooldownMs ?? 1_000,
    clock,
    async probe() {
      try {
        await withDeadline(client.ping());
        return true;
      } catch (err) {
        // A probe that got no answer at all: the connection is hung (or black-holed). Recycle it, which
        // also fails the commands still waiting on it; ioredis reconnects by itself.
        if (err instanceof RedisTimeoutError) client.disconnect(true);
        return false;
      }
    },
    onChange(to, from, detail) {
      deps.metrics.redisBreakerState.set(BREAKER_GAUGE[to]);
      deps.metrics.redisBreakerTransitions.inc({ to });
      if (from === 'closed') {
        deps.logger.warn(
          {
            event: 'redis.breaker_open',
            dependency: 'redis',
            failures: detail.failures,
            cooldown_ms: settings.breakerCooldownMs ?? 1_000,
          },
          'Redis is failing: skipping it; per-instance fallback limits and budgets in force',
        );
      } else if (to === 'closed') {
        deps.logger.info(
          { event: 'redis.breaker_closed', dependency: 'redis' },
          'Redis answers again: shared limits and budgets back in force',
        );
      } else {
        deps.logger.debug({ event: 'redis.breaker_probe', dependency: 'redis', state: to }, 'Redis probe');
      }
      for (const listener of listeners) listener(to);
    },
  });

  async function run<T>(command: (c: RedisClient) => Promise<T>, timeoutMs?: number): Promise<T> {
    if (!breaker.allow()) throw new RedisUnavailableError();
    try {
      const value = await withDeadline(command(client), timeoutMs);
      breaker.record(true);
      return value;
    } catch (err) {
      breaker.record(false);
      throw err;
    }
  }

  return {
    client,
    mode: target.mode,
    nodes: () => keyspaceNodes(client),
    keyPrefix: settings.keyPrefix,
    commandTimeoutMs: settings.commandTimeoutMs,
    isReady: () => client.status === 'ready',
    breakerState: () => breaker.state,
    available: () => breaker.allow(),
    onBreakerChange: (listener) => void listeners.push(listener),
    run,
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
      // An open breaker answers for Redis: /health must not wait on a hung server either. Asking it may
      // start the background probe, so health checks also notice a Redis that came back.
      if (!breaker.allow()) {
        return {
          status: 'down',
          mode: target.mode,
          breaker: breaker.state,
          error: new RedisUnavailableError().message,
        };
      }
      const started = clock.now();
      try {
        await withDeadline(client.ping(), timeoutMs);
        return {
          status: 'ok',
          mode: target.mode,
          breaker: breaker.state,
          latency_ms: Math.round((clock.now() - started) * 100) / 100,
        };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        return {
          status: 'down',
          mode: target.mode,
          breaker: breaker.state,
          error: lastConnectionError ? `not connected: ${lastConnectionError}` : message,
        };
      }
    },
    async close() {
      try {
        await withDeadline(client.quit(), 1_000);
      } catch {
        // Closed below.
      }
      // Also after a clean QUIT: only disconnect() closes the Sentinel failover detector's own connections.
      client.disconnect();
    },
  };
}
