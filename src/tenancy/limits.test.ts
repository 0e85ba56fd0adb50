import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TEST_EPOCH_MS } from '../../test/helpers/fake-clock.js';
import { MemoryBudgetStore } from '../accounting/budget-store.js';
import { applicableBudgets, type BudgetSettings } from '../accounting/budgets.js';
import type { Principal } from '../auth/principal.js';
import type { RequestContext } from '../core/context.js';
import { hashTagOf, intersectModels, type Level, NO_LIMITS } from './limits.js';

const settings: BudgetSettings = {
  default: { daily_usd: null, monthly_usd: null },
  users: { alice: { daily_usd: 3 } },
  default_max_output_tokens: 100,
  unpriced_reservation_usd: null,
};

const level = (l: Level['level'], id: string, limits: Partial<Level['limits']>): Level => ({
  level: l,
  id,
  limits: { ...NO_LIMITS, ...limits },
});

describe('tenancy levels', () => {
  test('hash tag: the organization, else the team, else a key naming end users, else the user', () => {
    assert.equal(hashTagOf({ orgId: 'o1', teamId: 't1', keyId: 'k1', userId: 'u' }), 'o:o1');
    assert.equal(hashTagOf({ orgId: null, teamId: 't1', keyId: 'k1', userId: 'u' }), 't:t1');
    assert.equal(hashTagOf({ keyId: 'k1', namesEndUsers: true, userId: 'u' }), 'k:k1');
    assert.equal(hashTagOf({ keyId: 'k1', userId: 'u' }), 'u');
  });

  test('allowed models: the intersection of every level that restricts', () => {
    assert.equal(intersectModels([[], []]), null);
    assert.deepEqual([...(intersectModels([['a', 'b'], [], ['b', 'c']]) ?? [])], ['b']);
    assert.equal(intersectModels([['a'], ['b']])?.size, 0, 'disjoint lists allow nothing');
  });

  test('budgets: every level and the config user, all counters under one hash tag', () => {
    const principal: Principal = {
      userId: 'alice',
      keyId: 'k1',
      tier: 'free',
      allowedModels: null,
      orgId: 'o1',
      teamId: 't1',
      tag: 'o:o1',
      levels: [
        level('org', 'o1', { monthlyUsd: 100 }),
        level('team', 't1', { dailyUsd: 10, totalUsd: 500 }),
        level('key', 'k1', { dailyUsd: 1 }),
        level('user', 'alice', { dailyUsd: 0.5 }),
      ],
    };
    const applied = applicableBudgets({ principal } as RequestContext, settings, 'p:', TEST_EPOCH_MS);
    assert.deepEqual(
      applied.map((a) => `${a.scope}/${a.period}`),
      ['org/monthly', 'team/daily', 'team/total', 'key/daily', 'user/daily', 'user/daily'],
    );
    for (const a of applied) assert.ok(a.counter.key.startsWith('p:budget:{o:o1}:'), a.counter.key);
    assert.equal(new Set(applied.map((a) => a.counter.key)).size, applied.length, 'distinct counters');
  });

  test('memory store: concurrent reservations on shared level counters never overspend', async () => {
    const store = new MemoryBudgetStore();
    const team = { key: 'team', limitMicros: 10, periodEndsAt: TEST_EPOCH_MS + 1000 };
    const keyA = { key: 'a', limitMicros: 100, periodEndsAt: TEST_EPOCH_MS + 1000 };
    const keyB = { key: 'b', limitMicros: 3, periodEndsAt: TEST_EPOCH_MS + 1000 };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.reserve(i % 2 ? [team, keyA] : [team, keyB], 1, TEST_EPOCH_MS),
      ),
    );
    assert.equal(await store.read('team', TEST_EPOCH_MS), 10, 'the team counter is exactly full');
    assert.equal(await store.read('b', TEST_EPOCH_MS), 3, 'key b stopped at its own limit');
    assert.equal(await store.read('a', TEST_EPOCH_MS), 7, 'key a got the rest of the team budget');
    // A refusal by key b charged nothing at the team level: 7 + 3 = 10 reservations in all.
    assert.equal(results.filter((r) => r === 0).length, 10);
  });
});
