/**
 * Run by tests in a child process with `--expose-gc` (decision 0191): churns values through one structure,
 * 16 in flight, each with ~4 KB of its own, and prints how many bytes per value scavenges promoted.
 * A full collection first moves the structure's internals to the old generation, as one does under load;
 * then only scavenges run, and the old generation's growth is what they promoted.
 *
 * Kinds: `set` (a `Set`, the control), `list` (`LiveList`), `flights` (the cache's `FlightTable`).
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { FlightTable } from '../../src/cache/single-flight.js';
import { LiveList, type LiveNode } from '../../src/core/live-list.js';

interface Value {
  id: number;
  payload: number[];
  node?: LiveNode<Value>;
}

const gc = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const kind = process.argv[2];
const list = new LiveList<Value>();
const set = new Set<Value>();
const flights = new FlightTable<Value>();
const ring: Value[] = [];
let n = 0;

function enter(): void {
  const v: Value = { id: n++, payload: new Array(500).fill(n) };
  if (kind === 'list') v.node = list.add(v);
  else if (kind === 'flights') flights.set(`key-${v.id}`, v);
  else set.add(v);
  ring.push(v);
}

function leave(): void {
  const v = ring.shift() as Value;
  if (kind === 'list') list.delete(v.node as LiveNode<Value>);
  else if (kind === 'flights') flights.delete(`key-${v.id}`, v);
  else set.delete(v);
}

function churn(count: number): void {
  for (let i = 0; i < count; i++) {
    leave();
    enter();
  }
}

const oldSpace = () =>
  getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')?.space_used_size ?? 0;
for (let i = 0; i < 16; i++) enter();
churn(2000);
gc();
const before = oldSpace();
const count = 4000;
for (let round = 0; round < 4; round++) {
  churn(count / 4);
  gc({ type: 'minor' });
}
gc({ type: 'minor' });
console.log(JSON.stringify({ promotedPerValue: (oldSpace() - before) / count }));
