import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BreakerState } from '../stores/redis-breaker.js';
import { createLogger } from '../telemetry/logger.js';
import { createMetrics } from '../telemetry/metrics.js';
import { FallbackBudgetStore } from './budget-fallback.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);
const DAY = { key: 'b:d', limitMicros: 1000, periodEndsAt: NOW + 3_600_000 };
const MONTH = { key: 'b:m', limitMicros: 5000, periodEndsAt: NOW + 86_400_000 };

/**
 * A stand-in for the Redis store: the budget scripts' semantics over a Map, a switch for "Redis up", and
 * the breaker listener. (The scripts themselves run against real Redis in the integration tests.)
 */
function fakeRedis() {
  const values = new Map<string, number>();
  let up = true;
  const listeners: Array<(s: BreakerState) => void> = [];
  const failures: string[] = [];
  const client = {
    defineCommand() {},
    async llmgwBudgetReserve(n: number, ...args: Array<string | number>) {
      const keys = args.slice(0, n) as string[];
      const amount = Number(args[n]);
      const limits = args.slice(n + 1, 2 * n + 1).map(Number);
      const current = keys.map((k) => values.get(k) ?? 0);
      const refused = current.findIndex((v, i) => v + amount > (limits[i] as number)) + 1;
      if (refused === 0) for (const k of keys) values.set(k, (values.get(k) ?? 0) + amount);
      return [refused, ...keys.map((k) => values.get(k) ?? 0)];
    },
    async llmgwBudgetAdjust(n: number, ...args: Array<string | number>) {
      const delta = Number(args[n]);
      for (const k of args.slice(0, n) as string[]) {
        if (values.has(k)) values.set(k, Math.max(0, (values.get(k) ?? 0) + delta));
      }
      return 0;
    },
    async llmgwBudgetAdd(key: string, delta: number, _ttl: number, base: number | '') {
      if (!values.has(key) && base === '') return -1;
      values.set(key, Math.max(0, (values.get(key) ?? Number(base)) + delta));
      return values.get(key);
    },
    async get(key: string) {
      return values.has(key) ? String(values.get(key)) : null;
    },
  };
  const redis = {
    client: client as never,
    run<T>(command: (c: never) => Promise<T>): Promise<T> {
      return up ? command(client as never) : Promise.reject(new Error('Connection is closed.'));
    },
    available: () => up,
    failed: (operation: string) => void failures.push(operation),
    onBreakerChange: (listener: (s: BreakerState) => void) => void listeners.push(listener),
  };
  return {
    redis,
    values,
    failures,
    down: () => {
      up = false;
    },
    back: () => {
      up = true;
      for (const l of listeners) l('closed');
    },
    failing: () => {
      // Breaker still closed, but every call fails (the first timeouts of an outage).
      redis.available = () => true;
      up = false;
    },
  };
}

function setup(outageShare = 0.5, seeded = false) {
  const fake = fakeRedis();
  const metrics = createMetrics({ processMetrics: false });
  const store = new FallbackBudgetStore({
    redis: fake.redis,
    outageShare,
    seeded,
    metrics,
    logger: createLogger({ level: 'silent' }),
    now: () => NOW,
  });
  return { ...fake, store, metrics };
}

test('Redis down: checked against the last known spend plus a share of what was left — never unlimited', async () => {
  const { store, down, values, failures } = setup(0.5);
  for (let i = 0; i < 3; i++) assert.equal(await store.reserve([DAY], 100, NOW), 0);
  assert.equal(values.get('b:d'), 300);
  down();
  // Allowance: 0.5 × (1000 − 300) = 350 → three more of 100, not a fourth.
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await store.reserve([DAY], 100, NOW));
  assert.deepEqual(results, [0, 0, 0, 1, 1]);
  assert.equal(failures.length, 5);
  assert.equal(values.get('b:d'), 300, 'nothing reached Redis while it was down');
});

test('a counter never seen in Redis gets the share of the whole limit; all or nothing across counters', async () => {
  const { store, down } = setup(0.1);
  down();
  // Day: 0.1 × 1000 = 100; month: 0.1 × 5000 = 500.
  assert.equal(await store.reserve([DAY, MONTH], 100, NOW), 0);
  assert.equal(await store.reserve([DAY, MONTH], 1, NOW), 1, 'the daily share is used up');
  assert.equal(await store.reserve([MONTH], 400, NOW), 0, 'the refused call reserved nothing on the month');
  assert.equal(await store.reserve([MONTH], 1, NOW), 1);
});

test('settlements during the outage count locally (refunds give room back)', async () => {
  const { store, down } = setup(0.5);
  down();
  // Allowance 500: reserve 400, settle to 100 → 300 back.
  assert.equal(await store.reserve([DAY], 400, NOW), 0);
  assert.equal(await store.reserve([DAY], 200, NOW), 1);
  await store.adjust([DAY], -300, NOW);
  assert.equal(await store.reserve([DAY], 200, NOW), 0);
});

test('when Redis is back the outage spend is added to it (also to an emptied Redis), then Redis decides', async () => {
  const { store, down, back, values, metrics } = setup(0.5);
  assert.equal(await store.reserve([DAY], 100, NOW), 0);
  down();
  // A reservation made before the outage, settled during it (real cost 60): the refund must reach Redis.
  await store.adjust([DAY], -40, NOW);
  assert.equal(await store.reserve([DAY], 200, NOW), 0);
  await store.adjust([DAY], -50, NOW); // settled at 150
  values.clear(); // Redis restarted empty
  back();
  await store.sync();
  assert.equal(
    values.get('b:d'),
    100 + 200 - 40 - 50,
    'the spend before the outage (100 reserved, settled at 60) and during it (150) both reached Redis',
  );
  assert.equal(store.pending, 0);
  const synced = (await metrics.redisFallback.get()).values.find((v) => v.labels.result === 'synced');
  assert.equal(synced?.value, 1);
  // Redis decides again, on the synced value: 210 + 790 fits, 1 more does not.
  assert.equal(await store.reserve([DAY], 790, NOW), 0);
  assert.equal(await store.reserve([DAY], 1, NOW), 1);
});

test("with seeding from the rollups, a counter an emptied Redis lost is left to the seeding, not recreated from this instance's view", async () => {
  const { store, down, back, values } = setup(0.5, true);
  // This instance saw 100; other instances spent more meanwhile (Redis held 700 before it restarted).
  assert.equal(await store.reserve([DAY], 100, NOW), 0);
  values.set('b:d', 700);
  down();
  assert.equal(await store.reserve([DAY, MONTH], 50, NOW), 0);
  values.clear(); // Redis restarted empty
  values.set('b:m', 20); // the month counter was recreated meanwhile (seeded or reserved by another instance)
  back();
  await store.sync();
  assert.equal(values.has('b:d'), false, 'missing, so the next request seeds it from the rollups');
  assert.equal(values.get('b:m'), 70, 'a counter Redis holds gets the outage spend added');
  assert.equal(store.pending, 0);
});

test('a failing call (breaker not yet open) decides locally too, and the spend is synced later', async () => {
  const { store, failing, back, values, failures } = setup(1);
  assert.equal(await store.reserve([DAY], 100, NOW), 0);
  failing();
  assert.equal(await store.reserve([DAY], 900, NOW), 0);
  assert.equal(await store.reserve([DAY], 1, NOW), 1);
  assert.deepEqual(failures, ['budget.reserve', 'budget.reserve']);
  back();
  await store.sync();
  assert.equal(values.get('b:d'), 1000);
});
