import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBudgetStore, missingCounters } from './budget-store.js';
import { periodsCache, periodsOf } from './budgets.js';

const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

test('periods are UTC days and months with their end', () => {
  const p = periodsOf(Date.UTC(2026, 11, 31, 23, 59, 59));
  assert.equal(p.day, '2026-12-31');
  assert.equal(p.dayEndsAt, Date.UTC(2027, 0, 1));
  assert.equal(p.month, '2026-12');
  assert.equal(p.monthEndsAt, Date.UTC(2027, 0, 1));
});

test('the periods cache answers like periodsOf across day and month ends, also when time goes back', () => {
  const periods = periodsCache();
  const times = [
    Date.UTC(2026, 11, 31, 0, 0, 0),
    Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    Date.UTC(2027, 0, 1),
    Date.UTC(2027, 0, 1, 13),
    Date.UTC(2026, 11, 30, 23, 59, 59, 999),
    Date.UTC(2027, 1, 28, 23, 59),
    Date.UTC(2027, 2, 1),
  ];
  for (const t of times) assert.deepEqual(periods(t), periodsOf(t), new Date(t).toISOString());
});

test('memory store: reserve is all or nothing across counters, adjust settles', async () => {
  const store = new MemoryBudgetStore();
  const daily = { key: 'd', limitMicros: 100, periodEndsAt: NOW + 1000 };
  const monthly = { key: 'm', limitMicros: 150, periodEndsAt: NOW + 5000 };
  assert.equal(await store.reserve([daily, monthly], 60, NOW), 0);
  assert.equal(await store.reserve([daily, monthly], 60, NOW), 1); // daily would pass 100
  assert.equal(await store.read('m', NOW), 60); // nothing reserved on refusal
  await store.adjust([daily, monthly], -50, NOW); // settled: real cost 10
  assert.equal(await store.reserve([daily, monthly], 60, NOW), 0);
  assert.equal(await store.read('d', NOW), 70);
  assert.equal(await store.reserve([daily, monthly], 80, NOW), 1);
  const bigDaily = { ...daily, limitMicros: 1000 };
  assert.equal(await store.reserve([bigDaily, monthly], 81, NOW), 2); // monthly 70 + 81 > 150
});

test('memory store: a new period starts from zero once the old one expired', async () => {
  const store = new MemoryBudgetStore();
  const c = { key: 'd', limitMicros: 100, periodEndsAt: NOW };
  assert.equal(await store.reserve([c], 100, NOW - 1), 0);
  assert.equal(await store.reserve([c], 1, NOW - 1), 1);
  // Counters live a day past their period (keys name the period, so a new day uses a new key anyway).
  assert.equal(await store.reserve([c], 100, NOW + 86_400_001), 0);
});

test('memory store: counters flagged for seeding are reported missing, seeded once, then reserved', async () => {
  const store = new MemoryBudgetStore();
  const team = { key: 't', limitMicros: 1000, periodEndsAt: NOW + 5000, seed: true };
  const key = { key: 'k', limitMicros: 1000, periodEndsAt: NOW + 5000, seed: true };
  const result = await store.reserve([team, key], 10, NOW);
  assert.ok(result < 0);
  assert.deepEqual(missingCounters(result), [0, 1]);
  assert.equal(await store.read('t', NOW), 0, 'nothing reserved while counters are missing');
  await store.seed(team, 995, NOW);
  assert.deepEqual(missingCounters(await store.reserve([team, key], 10, NOW)), [1]);
  await store.seed(key, 0, NOW);
  await store.seed(team, 0, NOW); // set-if-absent: the seeded spend stays
  assert.equal(await store.reserve([team, key], 10, NOW), 1, 'the seeded team spend refuses the request');
  assert.equal(await store.reserve([team, key], 5, NOW), 0);
  assert.equal(await store.read('t', NOW), 1000);
});
