import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruMap } from './lru-map.js';

test('uses reorder: the least recently used key is the oldest; set on a present key replaces and reorders', () => {
  const lru = new LruMap<string, number>();
  lru.set('a', 1);
  lru.set('b', 2);
  lru.set('c', 3);
  assert.equal(lru.get('a'), 1);
  assert.equal(lru.oldestKey(), 'b');
  assert.equal(lru.peek('b'), 2, 'peek reads without reordering');
  assert.equal(lru.oldestKey(), 'b');
  lru.set('b', 20);
  assert.equal(lru.size, 3);
  assert.deepEqual(lru.entries(), [
    ['c', 3],
    ['a', 1],
    ['b', 20],
  ]);
  assert.equal(lru.get('missing'), undefined);
});

test('delete at the front, middle and end keeps the order whole; deleting twice is harmless', () => {
  const lru = new LruMap<string, number>();
  for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) lru.set(k, i);
  assert.equal(lru.delete('c'), true);
  assert.equal(lru.delete('a'), true);
  assert.equal(lru.delete('e'), true);
  assert.equal(lru.delete('e'), false);
  assert.deepEqual(lru.keys(), ['b', 'd']);
  assert.equal(lru.oldestKey(), 'b');
  lru.delete('b');
  lru.delete('d');
  assert.equal(lru.size, 0);
  assert.equal(lru.oldestKey(), undefined);
  lru.set('x', 9);
  assert.deepEqual(lru.entries(), [['x', 9]]);
});

test('the order matches a plain reference LRU over 20,000 random operations', () => {
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const lru = new LruMap<number, number>();
  const reference: Array<[number, number]> = []; // oldest first
  const find = (k: number) => reference.findIndex(([key]) => key === k);
  for (let i = 0; i < 20_000; i++) {
    const key = random(40);
    const op = random(4);
    const at = find(key);
    if (op === 0) {
      const want = at >= 0 ? (reference.splice(at, 1)[0] as [number, number]) : undefined;
      if (want) reference.push(want);
      assert.equal(lru.get(key), want?.[1]);
    } else if (op === 1 || op === 2) {
      if (at >= 0) reference.splice(at, 1);
      reference.push([key, i]);
      lru.set(key, i);
      // The caller's eviction: at most 25 entries.
      while (reference.length > 25) {
        const [oldest] = reference.shift() as [number, number];
        assert.equal(lru.oldestKey(), oldest);
        lru.delete(oldest);
      }
    } else {
      if (at >= 0) reference.splice(at, 1);
      assert.equal(lru.delete(key), at >= 0);
    }
  }
  assert.deepEqual(lru.entries(), reference);
});

test('a hit or a replacement does not touch the underlying Map (no hash table rebuilt per use)', () => {
  const lru = new LruMap<string, number>();
  for (let i = 0; i < 100; i++) lru.set(`k${i}`, i);
  const { set, delete: del } = Map.prototype;
  let writes = 0;
  Map.prototype.set = function (this: Map<unknown, unknown>, ...args: [unknown, unknown]) {
    writes++;
    return set.apply(this, args);
  };
  Map.prototype.delete = function (this: Map<unknown, unknown>, key: unknown) {
    writes++;
    return del.call(this, key);
  };
  try {
    for (let i = 0; i < 1_000; i++) {
      lru.get(`k${i % 100}`);
      lru.set(`k${(i * 7) % 100}`, i);
    }
  } finally {
    Map.prototype.set = set;
    Map.prototype.delete = del;
  }
  assert.equal(writes, 0);
  assert.equal(lru.size, 100);
});
