import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { lowerHelperThreads } from './thread-priority.js';

test('every thread but the main one becomes nicer by the configured amount, once', () => {
  const nice = new Map<number, number>([
    [100, 0],
    [101, 0],
    [102, 15],
  ]);
  let threads = [100, 101, 102];
  const calls: string[] = [];
  const helpers = lowerHelperThreads({
    nice: 10,
    pid: 100,
    listThreads: () => threads,
    getPriority: (tid) => nice.get(tid) ?? 0,
    setPriority: (tid, value) => {
      calls.push(`${tid}=${value}`);
      nice.set(tid, value);
    },
  });
  assert.deepEqual(calls, ['101=10'], 'the main thread keeps its priority; a nicer thread is left alone');
  assert.equal(helpers.lowered, 2);
  // A thread that appears later (the thread pool on first use) is lowered at the next scan; others not again.
  threads = [100, 101, 102, 103];
  helpers.scan();
  assert.deepEqual(calls, ['101=10', '103=10']);
  helpers.stop();
});

test('the helpers are placed relative to the main thread and never past 19', () => {
  const calls: string[] = [];
  lowerHelperThreads({
    nice: 10,
    pid: 1,
    listThreads: () => [1, 2],
    getPriority: (tid) => (tid === 1 ? 15 : 0),
    setPriority: (tid, value) => calls.push(`${tid}=${value}`),
  });
  assert.deepEqual(calls, ['2=19']);
});

test('0 turns it off, and a thread that cannot be changed is counted, not thrown', () => {
  const calls: number[] = [];
  const off = lowerHelperThreads({
    nice: 0,
    pid: 1,
    listThreads: () => [1, 2],
    getPriority: () => 0,
    setPriority: (tid) => calls.push(tid),
  });
  assert.deepEqual(calls, []);
  assert.equal(off.lowered, 0);
  const gone = lowerHelperThreads({
    nice: 5,
    pid: 1,
    listThreads: () => [1, 2, 3],
    getPriority: () => 0,
    setPriority: (tid) => {
      if (tid === 2) throw new Error('ESRCH');
    },
  });
  assert.equal(gone.failed, 1);
  assert.equal(gone.lowered, 1);
});

/** Each thread's nice value of a process, from /proc (field 19 of stat). */
function niceValues(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  const tasks = readdirSync(`/proc/${pid}/task`);
  for (const tid of tasks) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
  }
  return out;
}

test('on Linux, a real process: its helper threads run at nice 10, its main thread at 0', {
  skip: process.platform !== 'linux' ? 'Linux only (setpriority per thread)' : false,
}, () => {
  const module = fileURLToPath(new URL('./thread-priority.ts', import.meta.url));
  // A child process (the test runner's own threads stay as they are): a worker thread, the thread pool in use,
  // then the helpers lowered; the child prints its pid and waits to be read.
  const script = `
    import { Worker } from 'node:worker_threads';
    import { readFile } from 'node:fs/promises';
    import { lowerHelperThreads } from ${JSON.stringify(module)};
    const worker = new Worker('setInterval(() => {}, 1000)', { eval: true });
    await new Promise((r) => worker.once('online', r));
    await readFile(${JSON.stringify(module)});
    const helpers = lowerHelperThreads({ nice: 10 });
    process.stdout.write(JSON.stringify({ pid: process.pid, lowered: helpers.lowered, failed: helpers.failed }) + '\\n');
    process.stdin.once('data', () => process.exit(0));
  `;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdout.once('data', (line: Buffer) => {
      try {
        const { pid, lowered, failed } = JSON.parse(line.toString()) as {
          pid: number;
          lowered: number;
          failed: number;
        };
        const values = niceValues(pid);
        assert.equal(values.get(pid), 0, 'the main thread keeps nice 0');
        const helpers = [...values].filter(([tid]) => tid !== pid);
        // V8's platform threads, the thread pool's four, the worker's thread.
        assert.ok(helpers.length >= 6, `helper threads: ${helpers.length}`);
        assert.equal(lowered, helpers.length);
        assert.equal(failed, 0);
        for (const [tid, nice] of helpers) assert.equal(nice, 10, `thread ${tid}`);
        resolve();
      } catch (err) {
        reject(err);
      } finally {
        child.stdin.end('x');
      }
    });
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited ${code}`));
    });
  });
});
