/**
 * Redis Cluster (DESIGN §11; decisions 0098, 0099): three masters started by this test on loopback ports
 * (`redis-server --cluster-enabled yes`, joined by `redis-cli --cluster create`). Every Lua script and
 * multi-key command must stay in one hash slot — a cross-slot call fails with CROSSSLOT here, never on a
 * single server — so the limits, budgets and cache run against it directly and through two gateways, and
 * the admin walks (cache stats, clear) must visit every master.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import {
  budgetBase,
  cacheEntryKey,
  keySlot,
  orgTag,
  rateLimitKey,
  semanticKeys,
} from '../../src/stores/redis-keys.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { gatewayChecks, storeChecks } from '../helpers/redis-suites.js';
import {
  type RedisClusterHandle,
  requireRedisBinaries,
  startRedisCluster,
} from '../helpers/redis-topologies.js';
import { uniquePrefix } from '../helpers/services.js';

const skip = requireRedisBinaries();

describe('Redis Cluster of three masters', { skip }, () => {
  let cluster: RedisClusterHandle;
  let store: RedisStore;
  const prefix = uniquePrefix('cluster');

  before(async () => {
    cluster = await startRedisCluster(3);
    store = createRedisStore(
      { target: { mode: 'cluster', nodes: cluster.nodes }, commandTimeoutMs: 2_000, keyPrefix: prefix },
      { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
    );
    assert.equal(await store.waitReady(5_000), true);
  });
  after(async () => {
    await store?.close();
    await cluster?.close();
  });

  test('the store is a Cluster client that sees the three masters', async () => {
    assert.equal(store.mode, 'cluster');
    assert.equal(store.nodes().length, 3);
    const ping = await store.ping();
    assert.equal(ping.status, 'ok');
    assert.equal(ping.mode, 'cluster', '/health shows the topology');
  });

  test('key slots: ours equal the cluster’s, and the keys of each script share one slot', async () => {
    const raw = new Redis(cluster.ports[0] as number, '127.0.0.1');
    try {
      const groups: string[][] = [
        [rateLimitKey(prefix, 'alice', 'r'), rateLimitKey(prefix, 'alice', 't')],
        [
          `${budgetBase(prefix, 'alice')}:user:d:2030-01-01`,
          `${budgetBase(prefix, 'alice')}:key:k1:m:2030-01`,
        ],
        semanticKeys(prefix, 'gpt-4o-mini', 'ab'.repeat(32)),
        // Ids that would break a naive tag: braces and percent signs are escaped.
        [rateLimitKey(prefix, '}x{', 'r'), rateLimitKey(prefix, '}x{', 't')],
        [`${prefix}rl:${orgTag('acme')}:org:r`, `${prefix}budget:${orgTag('acme')}:team:t1:d:2030-01-01`],
      ];
      for (const keys of groups) {
        const slots = await Promise.all(keys.map((k) => raw.cluster('KEYSLOT', k)));
        assert.deepEqual(
          keys.map((k) => keySlot(k)),
          slots,
          `slots of ${keys.join(', ')}`,
        );
        assert.equal(new Set(slots).size, 1, `one slot for ${keys.join(', ')}`);
      }
      assert.notEqual(
        rateLimitKey(prefix, '}x{', 'r'),
        rateLimitKey(prefix, '%7Dx%7B', 'r'),
        'escaping is injective',
      );
      assert.equal(
        keySlot(cacheEntryKey(prefix, 'm:abc')),
        Number(await raw.cluster('KEYSLOT', cacheEntryKey(prefix, 'm:abc'))),
      );
    } finally {
      raw.disconnect();
    }
  });

  test('users are spread over every master (no single hot slot for the fleet)', async () => {
    const masters = new Set(
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => cluster.masterOf(rateLimitKey(prefix, `user-${i}`, 'r'))),
      ),
    );
    assert.equal(masters.size, 3);
  });

  storeChecks('cluster', () => store, prefix);
  gatewayChecks('cluster', () => ({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.nodes.join(',') }));

  // Last: it hangs the whole cluster for a moment.
  describe('a cluster that stops answering', () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    before(async () => {
      mock = await MockUpstream.start();
      gw = await startGateway({
        mock,
        env: {
          REDIS_MODE: 'cluster',
          REDIS_CLUSTER_NODES: cluster.nodes.join(','),
          REDIS_KEY_PREFIX: uniquePrefix('cluster-hang'),
          REDIS_COMMAND_TIMEOUT_MS: '100',
          REDIS_BREAKER_COOLDOWN_MS: '50',
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_DEFAULT_RATE: '0.1',
          RATE_LIMIT_DEFAULT_CAPACITY: '2',
        },
      });
    });
    after(async () => {
      cluster.resume();
      await gw?.close();
      await mock?.close();
    });

    test('is skipped by the breaker (per-instance fallback limits), and used again once it answers', async () => {
      const chat = (user: string) =>
        postJson(
          `${gw.url}/v1/chat/completions`,
          { model: 'gpt-4o-mini', messages: userMessage() },
          { 'x-user-id': user },
        );
      for (let i = 0; i < 2; i++) assert.equal((await chat('frank')).status, 200);
      assert.equal((await chat('frank')).status, 429);
      cluster.pause();
      try {
        // Requests still succeed, limited by the fallback (never unlimited: capacity 2 per instance).
        const during = [];
        for (let i = 0; i < 5; i++) {
          const res = await chat('grace');
          await res.text();
          during.push(res.status);
        }
        assert.deepEqual(during.slice(0, 2), [200, 200]);
        assert.ok(
          during.slice(2).every((s) => s === 429),
          `${during}`,
        );
        const health = (await (await fetch(`${gw.url}/health`)).json()) as {
          checks?: Record<string, { breaker?: string }>;
        };
        assert.notEqual(
          JSON.stringify(health).match(/"breaker":"(open|half_open)"/),
          null,
          JSON.stringify(health),
        );
      } finally {
        cluster.resume();
      }
      // Back: the shared bucket of frank (exhausted before the pause) is in force again.
      await until(
        'the breaker closing',
        async () => JSON.stringify(await (await fetch(`${gw.url}/health`)).json()),
        (text) => text.includes('"breaker":"closed"'),
      );
      const again = await chat('frank');
      assert.equal(again.status, 429);
      assert.equal(again.headers.get('x-ratelimit-limit'), '2');
    });
  });
});
