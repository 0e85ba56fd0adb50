import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyTracker } from './latency.js';

test('the moving average weighs the newest sample by alpha', () => {
  const tracker = new LatencyTracker(0.5);
  tracker.observe('a', 'latency', 100, 1);
  tracker.observe('a', 'latency', 200, 2);
  assert.equal(tracker.get('a')?.latencyMs, 150);
  assert.equal(tracker.estimate('a', true), 150, 'a stream falls back to the latency');
});

test('deployments tracked are bounded; the least recently used estimate goes first', () => {
  const tracker = new LatencyTracker(0.5, 3);
  tracker.observe('alias-deployment', 'latency', 10, 0);
  tracker.observe('openai/x1', 'latency', 10, 1);
  tracker.observe('openai/x2', 'latency', 10, 2);
  tracker.observe('alias-deployment', 'ttft', 5, 3); // used again: now the most recent
  for (let i = 3; i < 1000; i++) tracker.observe(`openai/x${i}`, 'latency', 10, i);
  assert.equal(tracker.size, 3);
  assert.equal(tracker.get('openai/x1'), undefined);
  assert.ok(tracker.get('openai/x999'));
});
