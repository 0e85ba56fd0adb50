/**
 * The `redis` section of the configuration (DESIGN §11; decision 0098): one Redis shared by every instance,
 * reached as a single server (`standalone`, REDIS_URL), a Redis Cluster (`cluster`, REDIS_CLUSTER_NODES) or
 * through Sentinel (`sentinel`, REDIS_SENTINELS + REDIS_SENTINEL_NAME). Passwords are never part of the
 * configuration: they come from the environment (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD, or inside
 * REDIS_URL) and are not shown by `GET /admin/config`. Part of `ConfigSchema` (schema.ts).
 */
import { type Static, Type as T } from '@sinclair/typebox';

/** `host:port` (a host name, IPv4 address or bracketed IPv6 address; port 1–65535): address.ts. */
const HostPort = T.String({ format: 'host-port' });

export const RedisSchema = T.Object(
  {
    /** How the gateway reaches Redis (REDIS_MODE); decision 0098. */
    mode: T.Union([T.Literal('standalone'), T.Literal('cluster'), T.Literal('sentinel')], {
      default: 'standalone',
    }),
    /** `standalone`: redis://… or rediss://… (REDIS_URL); null = no Redis: caches and limits in process memory. */
    url: T.Union([T.String({ format: 'redis-url' }), T.Null()]),
    /** `cluster`: seed nodes, `host:port` (REDIS_CLUSTER_NODES, comma-separated); the rest is discovered. */
    cluster_nodes: T.Array(HostPort, { default: [] }),
    /** `sentinel`: the Sentinels, `host:port` (REDIS_SENTINELS, comma-separated). */
    sentinels: T.Array(HostPort, { default: [] }),
    /** `sentinel`: the name of the monitored master (REDIS_SENTINEL_NAME). */
    sentinel_name: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** ACL user for the data nodes in `cluster` and `sentinel` mode (REDIS_USERNAME; password: REDIS_PASSWORD). */
    username: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** ACL user for the Sentinels (REDIS_SENTINEL_USERNAME; password: REDIS_SENTINEL_PASSWORD). */
    sentinel_username: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** TLS to the data nodes (REDIS_TLS; a standalone REDIS_URL may say rediss:// instead). */
    tls: T.Boolean({ default: false }),
    /** TLS to the Sentinels (REDIS_SENTINEL_TLS). */
    sentinel_tls: T.Boolean({ default: false }),
    /** PEM file of the CA that signed the Redis servers' certificates (REDIS_TLS_CA_FILE); null = system CAs. */
    tls_ca_file: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** Longest wait for Redis on the request path before going on without it. */
    command_timeout_ms: T.Integer({ minimum: 1 }),
    /**
     * Prefix of every key the gateway writes (lets several deployments share one Redis). No braces: the
     * hash tag of a key is the first `{…}` in it (decision 0099).
     */
    key_prefix: T.String({ pattern: '^[^{}]*$' }),
    /** Consecutive failed Redis calls after which Redis is skipped for a cool-down (decision 0086). */
    breaker_failures: T.Integer({ minimum: 1, default: 3 }),
    /** How long Redis is skipped before a background probe (PING) checks whether it is back. */
    breaker_cooldown_ms: T.Integer({ minimum: 10, default: 1000 }),
  },
  { additionalProperties: false },
);

export type RedisConfig = Static<typeof RedisSchema>;

/** Whether the configuration names a Redis (in its mode); false = memory backends. */
export function redisConfigured(redis: Readonly<RedisConfig>): boolean {
  switch (redis.mode) {
    case 'standalone':
      return redis.url !== null;
    case 'cluster':
      return redis.cluster_nodes.length > 0;
    case 'sentinel':
      return redis.sentinels.length > 0;
  }
}

/**
 * Problems that need more than one field of the section (the object may not match the schema yet: every
 * check guards its own inputs). Called by the loader's cross-checks.
 */
export function redisProblems(redis: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const listed = (v: unknown) => Array.isArray(v) && v.length > 0;
  const mode = redis.mode ?? 'standalone';
  if (mode === 'cluster' && !listed(redis.cluster_nodes)) {
    problems.push(
      'redis.cluster_nodes: required with redis.mode "cluster" (set REDIS_CLUSTER_NODES=host:port,…)',
    );
  }
  if (mode === 'sentinel') {
    if (!listed(redis.sentinels)) {
      problems.push('redis.sentinels: required with redis.mode "sentinel" (set REDIS_SENTINELS=host:port,…)');
    }
    if (typeof redis.sentinel_name !== 'string') {
      problems.push('redis.sentinel_name: required with redis.mode "sentinel" (set REDIS_SENTINEL_NAME)');
    }
  }
  // Settings of another mode are a mistake, not something to ignore silently.
  if (mode !== 'cluster' && listed(redis.cluster_nodes)) {
    problems.push(`redis.cluster_nodes: set, but redis.mode is "${String(mode)}" (set REDIS_MODE=cluster)`);
  }
  if (mode !== 'sentinel' && listed(redis.sentinels)) {
    problems.push(`redis.sentinels: set, but redis.mode is "${String(mode)}" (set REDIS_MODE=sentinel)`);
  }
  if (mode !== 'standalone' && typeof redis.url === 'string') {
    problems.push(
      `redis.url: set, but redis.mode is "${String(mode)}" (REDIS_URL is for a single server; unset it)`,
    );
  }
  return problems;
}
