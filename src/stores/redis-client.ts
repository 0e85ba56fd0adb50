/**
 * Builds the ioredis client for the configured topology (decision 0098): a single server (`standalone`,
 * a URL), a Redis Cluster (`cluster`, seed nodes; the rest of the cluster is discovered) or a master found
 * through Sentinel (`sentinel`). Every mode gets the same fail-fast options — no offline queue, no retries
 * of a command, reconnection for ever — so the breaker and the outage fallbacks (redis.ts) behave the same
 * whatever the topology.
 *
 * Only `createRedisStore` calls this; features receive the store, never a client of their own.
 *
 * @example
 * const client = createRedisClient({ mode: 'cluster', nodes: ['10.0.0.1:6379'] }, { password });
 */
import type { ConnectionOptions } from 'node:tls';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** The client of any topology; both speak the same commands (multi-key ones only within one slot). */
export type RedisClient = Redis | Cluster;

/** Where Redis is. Addresses are `host:port`. */
export type RedisTarget =
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: readonly string[] }
  | { mode: 'sentinel'; sentinels: readonly string[]; name: string };

/** Credentials and TLS, passed through to ioredis; never logged. */
export interface RedisAccess {
  username?: string | null | undefined;
  password?: string | null | undefined;
  sentinelUsername?: string | null | undefined;
  sentinelPassword?: string | null | undefined;
  /** TLS to the data nodes (a standalone URL may also say so with rediss://). */
  tls?: boolean | undefined;
  /** TLS to the Sentinels. */
  sentinelTls?: boolean | undefined;
  /** PEM of the CA that signed the servers' certificates (both TLS settings); absent = system CAs. */
  ca?: string | undefined;
}

/** The options every connection shares: fail fast while Redis is down, reconnect by itself. */
function baseOptions(): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    // Reconnect for ever, backing off to 2 s.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    lazyConnect: false,
    connectionName: 'llm-gateway',
  };
}

/** `host:port` → ioredis' address; the schema has checked the shape (IPv6 in brackets). */
export function parseHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(address.slice(at + 1)) };
}

function tlsOptions(on: boolean | undefined, ca: string | undefined): ConnectionOptions | undefined {
  if (!on) return undefined;
  return ca ? { ca } : {};
}

/** A new client for `target` (connecting at once). */
export function createRedisClient(target: RedisTarget, access: RedisAccess = {}): RedisClient {
  const base = baseOptions();
  const auth = {
    ...(access.username ? { username: access.username } : {}),
    ...(access.password ? { password: access.password } : {}),
  };
  const tls = tlsOptions(access.tls, access.ca);
  switch (target.mode) {
    case 'standalone': {
      // Credentials in the URL win; REDIS_PASSWORD fills in when the URL has none. TLS: rediss:// (or
      // REDIS_TLS), with the configured CA if any.
      const urlTls = tlsOptions(target.url.startsWith('rediss://') || access.tls, access.ca);
      return new Redis(target.url, {
        ...base,
        ...withoutUrlOverlap(target.url, auth),
        ...(urlTls ? { tls: urlTls } : {}),
      });
    }
    case 'cluster':
      return new Cluster(target.nodes.map(parseHostPort), {
        // Commands are refused while the cluster is not ready, like a single server's offline queue off.
        enableOfflineQueue: false,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
        // A moved slot or a failover is followed at once; the request path's deadline bounds the waits.
        retryDelayOnFailover: 50,
        retryDelayOnClusterDown: 50,
        slotsRefreshTimeout: 2_000,
        redisOptions: {
          ...auth,
          maxRetriesPerRequest: 0,
          connectTimeout: base.connectTimeout,
          connectionName: base.connectionName,
          ...(tls ? { tls } : {}),
        },
      });
    case 'sentinel':
      return new Redis({
        ...base,
        ...auth,
        sentinels: target.sentinels.map(parseHostPort),
        name: target.name,
        role: 'master',
        ...(access.sentinelUsername ? { sentinelUsername: access.sentinelUsername } : {}),
        ...(access.sentinelPassword ? { sentinelPassword: access.sentinelPassword } : {}),
        ...(tls ? { tls, enableTLSForSentinelMode: true } : {}),
        ...(access.sentinelTls ? { sentinelTLS: tlsOptions(true, access.ca) } : {}),
        // Sentinels are asked again for ever (backing off to 2 s), like a single server is reconnected.
        sentinelRetryStrategy: (times) => Math.min(100 * times, 2_000),
        // Told of a failover by the Sentinels (+switch-master), the client moves to the new master at once.
        failoverDetector: true,
        // A demoted master answers writes with READONLY: reconnect, asking the Sentinels for the new one.
        reconnectOnError: (err) => err.message.startsWith('READONLY'),
      });
  }
}

/** Username/password from the environment only where the URL carries none. */
function withoutUrlOverlap(url: string, auth: { username?: string; password?: string }): RedisOptions {
  try {
    const parsed = new URL(url);
    return parsed.password || parsed.username ? {} : auth;
  } catch {
    return auth;
  }
}

/**
 * The nodes that hold the keys: every master of a cluster, else the one client. Admin walks over the
 * keyspace (SCAN) must visit each, since a cluster's SCAN only sees the node it is sent to.
 */
export function keyspaceNodes(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
