import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { promotedPerValue } from '../../test/helpers/churn.js';
import { LiveList } from './live-list.js';

describe('LiveList', () => {
  test('add, delete, size and iteration (newest first, over a copy)', () => {
    const list = new LiveList<string>();
    assert.equal(list.size, 0);
    assert.deepEqual(list.toArray(), []);
    const a = list.add('a');
    const b = list.add('b');
    const c = list.add('c');
    assert.equal(list.size, 3);
    assert.deepEqual([...list], ['c', 'b', 'a']);

    assert.equal(list.delete(b), true, 'from the middle');
    assert.deepEqual(list.toArray(), ['c', 'a']);
    assert.equal(list.delete(b), false, 'twice is a no-op');
    assert.equal(list.size, 2);
    assert.equal(list.delete(c), true, 'the head');
    assert.deepEqual(list.toArray(), ['a']);
    const d = list.add('d');
    assert.deepEqual(list.toArray(), ['d', 'a']);
    assert.equal(list.delete(a), true, 'the tail');
    assert.equal(list.delete(d), true, 'the last one');
    assert.equal(list.size, 0);
    assert.deepEqual(list.toArray(), []);
    list.add('e');
    assert.deepEqual(list.toArray(), ['e']);
  });

  test('the list may change while a caller walks it (shutdown aborts requests, which leave the list)', () => {
    const list = new LiveList<number>();
    const nodes = [1, 2, 3, 4].map((n) => list.add(n));
    const seen: number[] = [];
    for (const n of list) {
      seen.push(n);
      list.delete(nodes[n - 1] as (typeof nodes)[number]);
    }
    assert.deepEqual(seen, [4, 3, 2, 1]);
    assert.equal(list.size, 0);
  });

  test('the same value twice is two entries, each removed by its own node', () => {
    const list = new LiveList<string>();
    const first = list.add('x');
    list.add('x');
    assert.equal(list.size, 2);
    list.delete(first);
    assert.deepEqual(list.toArray(), ['x']);
  });
});

/**
 * Values that left the list must not outlive a scavenge (decision 0191). The same churn through a `Set` is
 * the control: it must show the problem, or this test would measure nothing.
 */
test('values that left the list are not promoted by scavenges (a Set of them is, every one)', () => {
  const set = promotedPerValue('set');
  const list = promotedPerValue('list');
  // Each value is ~4 KB (500 small integers); a Set promotes nearly all of them.
  assert.ok(set > 2000, `control: a Set promoted only ${set} B per value`);
  assert.ok(list < 200, `the list promoted ${list} B per value`);
});
