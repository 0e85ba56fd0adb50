import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResultRecord } from './results.js';
import { pairedBootstrap, percentile } from './stats.js';
import { checkGates, compareRecords, type GateFailure, gateFailureText, summarise } from './summary.js';

test('the paired bootstrap is deterministic, finds a consistent shift and not a null one', () => {
  const a = Array.from({ length: 40 }, (_, i) => 0.5 + ((i * 7) % 10) / 100);
  const shifted = a.map((x, i) => x + 0.1 + ((i % 3) - 1) / 100);
  const t1 = pairedBootstrap(a, shifted);
  assert.deepEqual(pairedBootstrap(a, shifted), t1);
  assert.ok(Math.abs(t1.delta - 0.1) < 0.01);
  assert.ok(t1.p < 0.01);
  assert.ok(t1.ci[0] > 0);
  const noise = a.map((x, i) => x + (i % 2 === 0 ? 0.05 : -0.05));
  assert.ok(pairedBootstrap(a, noise).p > 0.5);
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
});

const rec = (item: string, target: string, scores: ResultRecord['scores']): ResultRecord =>
  ({
    item_id: item,
    target,
    scores,
    unscored: {},
    error: null,
    cost_usd: 0,
    judge_cost_usd: 0,
    ttft_ms: 1,
  }) as unknown as ResultRecord;

test('gates fail per target when the mean is below (scores) or above (latency, cost), or missing', () => {
  const records = [
    rec('1', 'a', { faithfulness: 1, latency_ms: 100 }),
    rec('2', 'a', { faithfulness: 0.5, latency_ms: 300 }),
    rec('1', 'b', { latency_ms: 50 }),
  ];
  const s = summarise(records, ['a', 'b']);
  const failures = checkGates(s, [
    { metric: 'faithfulness', direction: 'below', value: 0.8 },
    { metric: 'latency_ms', direction: 'above', value: 150 },
  ]);
  assert.deepEqual(
    failures.map((f) => (f.kind === 'score' ? [f.target, f.gate.metric, f.actual] : [f.target, f.errors])),
    [
      ['a', 'faithfulness', 0.75],
      ['b', 'faithfulness', null],
      ['a', 'latency_ms', 200],
    ],
  );
});

test('with gates set, a target whose items did not all evaluate fails, whatever the mean of the rest', () => {
  const failed = { ...rec('2', 'a', {}), error: 'HTTP 422: missing variable' } as ResultRecord;
  const records = [rec('1', 'a', { exact_match: 1 }), failed, rec('1', 'b', { exact_match: 1 })];
  const s = summarise(records, ['a', 'b']);
  const failures = checkGates(s, [{ metric: 'exact_match', direction: 'below', value: 0.5 }]);
  assert.deepEqual(failures, [{ kind: 'errors', target: 'a', errors: 1, items: 2 }]);
  assert.equal(
    gateFailureText(failures[0] as GateFailure, () => ''),
    '1 of 2 items could not be evaluated (with gates set, every item must be)',
  );
  assert.deepEqual(checkGates(s, []), [], 'no gates, nothing fails');
});

test('compare pairs items by id and ignores items only one side scored', () => {
  const a = [
    rec('1', 'x', { exact_match: 0 }),
    rec('2', 'x', { exact_match: 1 }),
    rec('3', 'x', { exact_match: 1 }),
  ];
  const b = [rec('1', 'x', { exact_match: 1 }), rec('2', 'x', { exact_match: 1 })];
  const [m] = compareRecords(a, b);
  assert.equal(m?.test.n, 2);
  assert.equal(m?.a, 0.5);
  assert.equal(m?.b, 1);
});
