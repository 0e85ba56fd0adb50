import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { batchLines } from './line-batch.js';

function fileStream(threshold: number) {
  const dir = mkdtempSync(join(tmpdir(), 'line-batch-'));
  const file = join(dir, 'out.log');
  const stream = batchLines(pino.destination({ dest: openSync(file, 'w'), sync: true }), { threshold });
  return { stream, read: () => readFileSync(file, 'utf8'), done: () => rmSync(dir, { recursive: true }) };
}

test('lines wait until the threshold, then go out together, in order', async () => {
  const { stream, read, done } = fileStream(30);
  try {
    stream.write('one\n');
    stream.write('two\n');
    await new Promise((r) => setImmediate(r));
    assert.equal(read(), '', 'below the threshold nothing is handed to the stream');
    for (let i = 0; i < 10; i++) stream.write(`line ${i}\n`);
    stream.flushSync();
    assert.equal(read(), `one\ntwo\n${Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('')}`);
  } finally {
    done();
  }
});

test('flush and end hand over the waiting lines', async () => {
  const { stream, read, done } = fileStream(1_000_000);
  try {
    stream.write('a\n');
    await new Promise<void>((resolve, reject) => stream.flush((err) => (err ? reject(err) : resolve())));
    assert.equal(read(), 'a\n');
    stream.write('b\n');
    await new Promise((resolve) => {
      stream.once('close', resolve);
      stream.end();
    });
    assert.equal(read(), 'a\nb\n');
  } finally {
    done();
  }
});

test("a process that exits right after logging still writes its lines (pino's exit handler)", () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = `
    import { createLogger } from './src/telemetry/logger.ts';
    const log = createLogger({ level: 'info' });
    for (let i = 0; i < 3; i++) log.info({ event: 'exit.line', i }, 'bye');
    process.exit(0);
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; i: number });
  assert.deepEqual(
    lines.map((l) => [l.event, l.i]),
    [
      ['exit.line', 0],
      ['exit.line', 1],
      ['exit.line', 2],
    ],
  );
});

test('lines handed over to a destroyed stream are dropped, not thrown into the logging call', () => {
  const { stream, done } = fileStream(4);
  try {
    stream.destroy();
    assert.doesNotThrow(() => stream.write('late line\n'));
  } finally {
    done();
  }
});

/** A stream that records what it is handed. */
function recording() {
  const writes: string[] = [];
  const stream = {
    write: (data: string) => writes.push(data) > 0,
    flush: () => undefined,
    flushSync: () => undefined,
    end: () => undefined,
  };
  return { writes, stream };
}

test('a line below the threshold goes out maxWaitMs after it arrived, with what came meanwhile', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { writes, stream } = recording();
  batchLines(stream, { threshold: 1000, maxWaitMs: 100 });
  stream.write('first\n');
  t.mock.timers.tick(60);
  stream.write('second\n');
  t.mock.timers.tick(39);
  assert.deepEqual(writes, [], 'nothing before the first line has waited 100 ms');
  t.mock.timers.tick(1);
  assert.deepEqual(writes, ['first\nsecond\n']);
  stream.write('third\n');
  t.mock.timers.tick(100);
  assert.deepEqual(writes, ['first\nsecond\n', 'third\n'], 'the next line starts its own wait');
});

test('nothing waiting, nothing scheduled: an idle stream is never written to', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { writes, stream } = recording();
  batchLines(stream, { threshold: 10, maxWaitMs: 100 });
  t.mock.timers.tick(10_000);
  assert.deepEqual(writes, []);
  stream.write('0123456789\n');
  assert.deepEqual(writes, ['0123456789\n'], 'the threshold hands over at once');
  t.mock.timers.tick(10_000);
  assert.deepEqual(writes, ['0123456789\n'], 'the handed-over line left no timer behind');
});
