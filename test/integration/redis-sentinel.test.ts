/**
 * Redis behind Sentinel (DESIGN §11; decision 0098): a master, a replica and a Sentinel started by this
 * test on loopback ports (`redis-server --sentinel`, generated sentinel.conf). The limits, budgets and cache
 * run against it directly and through two gateways; then a forced failover (`SENTINEL FAILOVER`): the
 * store and a gateway move to the promoted replica by themselves, and the shared state written before the
 * failover (an exhausted bucket, a budget's spend, a cached answer) is still in force after it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisBudgetStore } from '../../src/accounting/budget-store.js';
import { RedisRateLimiter } from '../../src/ratelimit/redis.js';
import { createRedisStore, type RedisStore } from '../../src/stores/redis.js';
import { budgetBase } from '../../src/stores/redis-keys.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { gatewayChecks, storeChecks } from '../helpers/redis-suites.js';
import {
  type RedisSentinelHandle,
  requireRedisBinaries,
  startRedisSentinel,
} from '../helpers/redis-topologies.js';
import { uniquePrefix } from '../helpers/services.js';

const skip = requireRedisBinaries();

function sentinelStore(sentinel: RedisSentinelHandle, prefix: string): RedisStore {
  return createRedisStore(
    {
      target: { mode: 'sentinel', sentinels: sentinel.sentinels, name: sentinel.name },
      commandTimeoutMs: 2_000,
      keyPrefix: prefix,
      breakerCooldownMs: 50,
    },
    { logger: createLogger({ level: 'silent' }), metrics: createMetrics() },
  );
}

/** The port of the server a store's connection reaches. */
async function connectedPort(store: RedisStore): Promise<number> {
  const info = await store.client.info('server');
  return Number(/tcp_port:(\d+)/.exec(info)?.[1]);
}

describe('Redis behind Sentinel', { skip }, () => {
  let sentinel: RedisSentinelHandle;
  let store: RedisStore;
  const prefix = uniquePrefix('sentinel');

  before(async () => {
    sentinel = await startRedisSentinel();
    store = sentinelStore(sentinel, prefix);
    assert.equal(await store.waitReady(5_000), true);
  });
  after(async () => {
    await store?.close();
    await sentinel?.close();
  });

  test('the store reaches the master the Sentinel names', async () => {
    assert.equal(store.mode, 'sentinel');
    assert.equal(await connectedPort(store), await sentinel.masterPort());
  });

  storeChecks('sentinel', () => store, prefix);
  gatewayChecks('sentinel', () => ({
    REDIS_MODE: 'sentinel',
    REDIS_SENTINELS: sentinel.sentinels.join(','),
    REDIS_SENTINEL_NAME: sentinel.name,
  }));

  describe('failover (SENTINEL FAILOVER)', () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    const gwPrefix = uniquePrefix('failover-gw');
    const chat = (user: string) =>
      postJson(
        `${gw.url}/v1/chat/completions`,
        { model: 'gpt-4o-mini', messages: userMessage() },
        { 'x-user-id': user },
      );
    /** Rate-limit decisions this gateway made without Redis so far. */
    const fallbacks = async () => {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      return [...text.matchAll(/^llm_redis_fallback_total\{feature="ratelimit"[^}]*\} (\d+)/gm)].reduce(
        (sum, m) => sum + Number(m[1]),
        0,
      );
    };

    before(async () => {
      mock = await MockUpstream.start();
      gw = await startGateway({
        mock,
        env: {
          REDIS_MODE: 'sentinel',
          REDIS_SENTINELS: sentinel.sentinels.join(','),
          REDIS_SENTINEL_NAME: sentinel.name,
          REDIS_KEY_PREFIX: gwPrefix,
          REDIS_COMMAND_TIMEOUT_MS: '2000',
          REDIS_BREAKER_COOLDOWN_MS: '50',
          RATE_LIMIT_ENABLED: 'true',
          // Bursts of 3, one more every 10 minutes: no token comes back while the test runs.
          RATE_LIMIT_DEFAULT_RATE: '0.1',
          RATE_LIMIT_DEFAULT_CAPACITY: '3',
        },
      });
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
    });

    test('the store and a gateway follow the promoted replica; state written before is kept', async () => {
      const limiter = new RedisRateLimiter(store);
      const spec = { name: 'r' as const, ratePerMs: 1 / 600_000, capacity: 2, cost: 1 };
      for (let i = 0; i < 2; i++) assert.equal((await limiter.take('dora', [spec], 'take')).allowed, true);
      assert.equal((await limiter.take('dora', [spec], 'take')).allowed, false);
      const budgets = new RedisBudgetStore(store);
      const counter = {
        key: `${budgetBase(prefix, 'dora')}:user:d:test`,
        limitMicros: 10,
        periodEndsAt: Date.now() + 86_400_000,
      };
      assert.equal(await budgets.reserve([counter], 7, Date.now()), 0);
      for (let i = 0; i < 3; i++) {
        const res = await chat('erin');
        assert.equal(res.status, 200);
        await res.text();
      }
      const denied = await chat('erin');
      assert.equal(denied.status, 429);
      await denied.text();
      // Every write has reached the replica before it is promoted (asynchronous replication otherwise).
      assert.equal(await store.client.call('WAIT', '1', '5000'), 1);

      const promoted = await sentinel.failover();

      // The store: a write succeeds, on the new master.
      await until(
        'the store writing to the promoted replica',
        async () => {
          try {
            await limiter.take(`probe-${Math.random()}`, [spec], 'take');
            return await connectedPort(store);
          } catch {
            return 0;
          }
        },
        (port) => port === promoted,
      );
      assert.equal(
        (await limiter.take('dora', [spec], 'take')).allowed,
        false,
        'the exhausted bucket survived',
      );
      assert.equal(await budgets.read(counter.key), 7, 'the spend survived');
      assert.equal(await budgets.reserve([counter], 4, Date.now()), 1, 'and still counts against the limit');

      // The gateway: once a request is decided by Redis again (no fallback), erin is still limited.
      await until(
        'the gateway deciding with Redis again',
        async () => {
          const before = await fallbacks();
          const res = await chat(`probe-${Math.random()}`);
          await res.text();
          return res.status === 200 && (await fallbacks()) === before;
        },
        (ok) => ok,
      );
      const before = await fallbacks();
      const again = await chat('erin');
      assert.equal(again.status, 429, 'the shared limit written before the failover holds after it');
      await again.text();
      assert.equal(await fallbacks(), before, 'decided by Redis, not the per-instance fallback');
    });
  });
});
