/**
 * The store settings of the validated `redis` config section plus the secrets the environment holds
 * (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD): the one place that knows how the config names a topology
 * (decision 0098). Null when no Redis is configured (memory backends then). `connectRedis` is what the
 * gateway starts with: the store for those settings, given a moment to connect.
 *
 * @example
 * const settings = redisSettings(config.redis, process.env);
 * const redis = await connectRedis(config, process.env, logger, metrics, clock); // null without Redis
 */
import { readFileSync } from 'node:fs';
import { type RedisConfig, redisConfigured } from '../config/redis-schema.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { createRedisStore, type RedisSettings, type RedisStore } from './redis.js';
import type { RedisTarget } from './redis-client.js';

export function redisSettings(
  config: Readonly<RedisConfig>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): RedisSettings | null {
  if (!redisConfigured(config)) return null;
  let target: RedisTarget;
  if (config.mode === 'cluster') target = { mode: 'cluster', nodes: config.cluster_nodes };
  else if (config.mode === 'sentinel') {
    target = { mode: 'sentinel', sentinels: config.sentinels, name: config.sentinel_name ?? 'mymaster' };
  } else target = { mode: 'standalone', url: config.url ?? '' };
  let ca: string | undefined;
  if (config.tls_ca_file) {
    try {
      ca = readFile(config.tls_ca_file);
    } catch (err) {
      throw new Error(
        `redis.tls_ca_file: cannot read ${config.tls_ca_file} (${err instanceof Error ? err.message : String(err)})`,
      );
    }
  }
  return {
    target,
    access: {
      username: config.username,
      password: env.REDIS_PASSWORD || null,
      sentinelUsername: config.sentinel_username,
      sentinelPassword: env.REDIS_SENTINEL_PASSWORD || null,
      tls: config.tls,
      sentinelTls: config.sentinel_tls,
      ca,
    },
    commandTimeoutMs: config.command_timeout_ms,
    keyPrefix: config.key_prefix,
    breakerFailures: config.breaker_failures,
    breakerCooldownMs: config.breaker_cooldown_ms,
  };
}

/**
 * The shared Redis connection when one is configured (single server, Cluster or Sentinel); the gateway
 * starts without it if it is down.
 */
export async function connectRedis(
  config: { redis: RedisConfig },
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
  metrics: Metrics,
  clock: Clock,
): Promise<RedisStore | null> {
  const settings = redisSettings(config.redis, env);
  if (!settings) return null;
  const redis = createRedisStore(settings, { logger, metrics, clock });
  // Give Redis a moment to connect so the first requests find it.
  if (!(await redis.waitReady(1_000))) {
    logger.warn(
      { event: 'dependency.error', dependency: 'redis', mode: redis.mode },
      'Redis is not reachable; starting without it',
    );
  }
  return redis;
}
