import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyHeapGrowing, heapGrowingFlagGiven } from './v8-heap.js';

test('the configured heap growing factor is set, unless the node command line sets one', () => {
  const set: string[] = [];
  assert.equal(
    applyHeapGrowing(100, ['--enable-source-maps'], (f) => set.push(f)),
    100,
  );
  assert.deepEqual(set, ['--heap-growing-percent=100']);
  assert.equal(
    applyHeapGrowing(100, ['--heap_growing_percent=30'], (f) => set.push(f)),
    'command-line',
  );
  assert.deepEqual(set, ['--heap-growing-percent=100'], 'the command line wins');
  assert.equal(heapGrowingFlagGiven(['--heap-growing-percent=0']), true);
  assert.equal(heapGrowingFlagGiven(['--heap-growing-percentage']), false);
  // The real V8 call accepts it (0 restores V8's own factor for the rest of this test process).
  assert.equal(applyHeapGrowing(0, []), 0);
});
