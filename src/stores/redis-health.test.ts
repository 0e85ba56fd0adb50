/**
 * What /health says about a Redis that is configured but not reachable: the reason the connection failed
 * (a refused port, an unknown host), not the client's "Stream isn't writeable and enableOfflineQueue
 * options is false" that every command gets while it is disconnected.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../telemetry/logger.js';
import { createMetrics } from '../telemetry/metrics.js';
import { createRedisStore } from './redis.js';

/** A loopback port nobody listens on: taken, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('Redis down at start: ping names the connection error', { timeout: 10_000 }, async () => {
  const store = createRedisStore(
    {
      url: `redis://127.0.0.1:${await closedPort()}`,
      commandTimeoutMs: 50,
      keyPrefix: 't:',
      breakerFailures: 3,
      breakerCooldownMs: 1000,
    },
    { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) },
  );
  try {
    assert.equal(await store.waitReady(300), false);
    const ping = await store.ping();
    assert.equal(ping.status, 'down');
    assert.match(String(ping.error), /^not connected: .*ECONNREFUSED/);
  } finally {
    await store.close();
  }
});
