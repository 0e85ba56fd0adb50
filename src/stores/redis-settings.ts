/**
 * The store settings of the validated `redis` config section plus the secrets the environment holds
 * (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD): the one place that knows how the config names a topology
 * (decision 0098). Null when no Redis is configured (memory backends then).
 *
 * @example
 * const settings = redisSettings(config.redis, process.env);
 * const redis = settings && createRedisStore(settings, { logger, metrics, clock });
 */
import { readFileSync } from 'node:fs';
import { type RedisConfig, redisConfigured } from '../config/redis-schema.js';
import type { RedisSettings } from './redis.js';
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
