import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
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
 * Values that left the list must not outlive a scavenge (decision 0191). A child process with `--expose-gc`
 * churns 16 values in flight through the structure, each with ~4 KB of its own; a full collection first
 * moves the structure's internals to the old generation, as one does under load. Then only scavenges run,
 * and the old generation's growth is what they promoted. The same churn through a `Set` is the control: it
 * must show the problem, or this test would measure nothing.
 */
test('values that left the list are not promoted by scavenges (a Set of them is, every one)', () => {
  const module = fileURLToPath(new URL('./live-list.ts', import.meta.url));
  const run = (kind: 'list' | 'set') =>
    JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--expose-gc',
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `import { LiveList } from ${JSON.stringify(module)};
           import { getHeapSpaceStatistics } from 'node:v8';
           const kind = ${JSON.stringify(kind)};
           const list = new LiveList();
           const set = new Set();
           const ring = [];
           let n = 0;
           const make = () => ({ id: n++, payload: new Array(500).fill(n) });
           const enter = (v) => { if (kind === 'list') v.node = list.add(v); else set.add(v); ring.push(v); };
           const leave = () => { const v = ring.shift(); if (kind === 'list') list.delete(v.node); else set.delete(v); };
           for (let i = 0; i < 16; i++) enter(make());
           const churn = (count) => { for (let i = 0; i < count; i++) { leave(); enter(make()); } };
           churn(2000);
           gc();
           const old = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space').space_used_size;
           const before = old();
           const count = 4000;
           for (let round = 0; round < 4; round++) { churn(count / 4); gc({ type: 'minor' }); }
           gc({ type: 'minor' });
           console.log(JSON.stringify({ promotedPerValue: (old() - before) / count }));`,
        ],
        { encoding: 'utf8' },
      ),
    ) as { promotedPerValue: number };
  const set = run('set');
  const list = run('list');
  // Each value is ~4 KB (500 small integers); a Set promotes nearly all of them.
  assert.ok(set.promotedPerValue > 2000, `control: a Set promoted only ${set.promotedPerValue} B per value`);
  assert.ok(list.promotedPerValue < 200, `the list promoted ${list.promotedPerValue} B per value`);
});
