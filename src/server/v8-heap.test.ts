import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  applyHeapGrowing,
  applyPretenuring,
  collectGarbage,
  heapGrowingFlagGiven,
  pretenuringFlagGiven,
} from './v8-heap.js';

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

test('pretenuring is turned off unless configured on or set on the node command line', () => {
  const set: string[] = [];
  assert.equal(
    applyPretenuring(false, [], (f) => set.push(f)),
    false,
  );
  assert.deepEqual(set, ['--no-allocation-site-pretenuring']);
  assert.equal(
    applyPretenuring(true, [], (f) => set.push(f)),
    true,
  );
  assert.equal(
    applyPretenuring(false, ['--allocation-site-pretenuring'], (f) => set.push(f)),
    'command-line',
  );
  assert.deepEqual(set, ['--no-allocation-site-pretenuring'], 'nothing set when on or on the command line');
  assert.equal(pretenuringFlagGiven(['--no-allocation_site_pretenuring']), true);
  assert.equal(pretenuringFlagGiven(['--allocation-site-pretenuring-x']), false);
});

test('set at run time, V8 really stops pretenuring (a workload whose allocation site it would pretenure)', () => {
  const module = fileURLToPath(new URL('./v8-heap.ts', import.meta.url));
  // Objects from one site that all survive their first scavenges: V8 decides to allocate that site in the old
  // generation, and says so in its pretenuring statistics.
  const run = (enabled: boolean) =>
    execFileSync(
      process.execPath,
      [
        '--trace-pretenuring-statistics',
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import { applyPretenuring } from ${JSON.stringify(module)};
         applyPretenuring(${enabled}, []);
         const make = (i) => ({ i, data: [i, i + 1] });
         let keep = [];
         for (let round = 0; round < 200; round++) {
           for (let i = 0; i < 20000; i++) keep.push(make(i));
           if (keep.length > 200000) keep = [];
         }`,
      ],
      { encoding: 'utf8' },
    );
  assert.match(run(true), /pretenuring: .*tenured=[1-9]/, 'V8 pretenures the site by default');
  assert.doesNotMatch(run(false), /pretenuring:/, 'no pretenuring decisions once turned off');
});

test('a full collection at the end of start-up frees what nothing holds, with no gc global left behind', async () => {
  const hadGc = typeof (globalThis as { gc?: unknown }).gc === 'function';
  // A WeakRef keeps its target for the rest of the job that made it: the collection runs in a later one.
  let garbage: object | null = { start_up: 'x'.repeat(1024) };
  const ref = new WeakRef(garbage);
  garbage = null;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(collectGarbage(), true);
  assert.equal(ref.deref(), undefined, 'the unreachable object was collected');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc === 'function', hadGc, 'no gc global added');
  assert.equal(collectGarbage(), true, 'again, with the function it fetched once');
});
