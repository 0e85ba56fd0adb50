import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecencyOrder } from './recency.js';

interface Entry {
  movedAt: number;
}

/** A bounded map as the rate limiter and the latency tracker keep theirs: use, insert, evict the front. */
function bounded(capacity: number) {
  const map = new Map<string, Entry>();
  const order = new RecencyOrder(capacity);
  return {
    map,
    use(key: string): void {
      const e = map.get(key);
      if (e) {
        order.touch(map, key, e);
        return;
      }
      map.set(key, { movedAt: order.stamp() });
      while (map.size > capacity) map.delete(map.keys().next().value as string);
    },
  };
}

test('a recent entry stays where it is (no table rebuild per use); a small map keeps the exact order', () => {
  const large = bounded(100);
  large.use('a');
  large.use('b');
  large.use('a');
  assert.deepEqual([...large.map.keys()], ['a', 'b'], 'a moved one use ago: it stays');

  const small = bounded(2);
  small.use('a');
  small.use('b');
  small.use('a');
  assert.deepEqual([...small.map.keys()], ['b', 'a'], 'capacity 2: every use moves');
});

test('an entry used within the last capacity / 2 uses is never evicted; an idle one goes first', () => {
  const capacity = 100;
  const b = bounded(capacity);
  b.use('idle');
  for (let i = 0; i < 10_000; i++) {
    // The hot key is used every 49 uses, a stream of new keys in between.
    if (i % 49 === 0) b.use('hot');
    else b.use(`new-${i}`);
    assert.ok(b.map.size <= capacity);
    if (i > 0 && i % 49 === 48) assert.ok(b.map.has('hot'), `hot key evicted at use ${i}`);
  }
  assert.equal(b.map.has('idle'), false, 'the idle key was dropped');
  assert.ok(b.map.has('new-9999'));
});

test('an entry moves at most once per capacity / 2 uses', () => {
  const b = bounded(1000);
  b.use('hot');
  b.use('other');
  for (let i = 0; i < 498; i++) b.use('hot');
  assert.deepEqual([...b.map.keys()], ['hot', 'other'], '499 uses of 1000/2: not moved yet');
  b.use('hot');
  b.use('hot');
  assert.deepEqual([...b.map.keys()], ['other', 'hot'], 'then moved to the end');
});
