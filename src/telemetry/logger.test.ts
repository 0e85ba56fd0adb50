import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs, { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger, createRedactor, LOG_WRITE_MAX, logDestination } from './logger.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'info', destination }) };
}

test('credential fields are redacted by path', () => {
  const { lines, logger } = capture();
  logger.info({
    headers: { authorization: 'Bearer sk-1', 'x-api-key': 'k-2', 'api-key': 'k-3' },
    api_key: 'k-4',
    provider: { apiKey: 'k-5' },
  });
  const text = JSON.stringify(lines);
  for (const secret of ['sk-1', 'k-2', 'k-3', 'k-4', 'k-5']) assert.ok(!text.includes(secret), text);
  assert.equal((lines[0]?.headers as Record<string, unknown> | undefined)?.authorization, '[redacted]');
});

test('createRedactor replaces every occurrence of each secret; short values are ignored', () => {
  const redact = createRedactor(['sk-0123456789', 'AIza-abcdefgh', 'short']);
  assert.equal(
    redact('a sk-0123456789 b sk-0123456789 c AIza-abcdefgh short'),
    'a [redacted] b [redacted] c [redacted] short',
  );
  assert.equal(createRedactor([])('unchanged'), 'unchanged');
  // A gateway key (only its hash is stored) is known by its shape; the visible prefix alone is not a secret.
  const key = `sk-gw-${'A1b2_C3d-'.repeat(5)}`;
  assert.equal(createRedactor([])(`bad key ${key}. ${key}`), 'bad key [redacted]. [redacted]');
  assert.equal(createRedactor([])('prefix sk-gw-AbCdEf'), 'prefix sk-gw-AbCdEf');
});

test('stdout lines are written promptly, even when the process stays quiet', async () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const script = `
    import { createLogger } from './src/telemetry/logger.ts';
    createLogger({ level: 'info' }).info({ event: 'quiet.line' }, 'hello');
    setTimeout(() => {}, 10_000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const started = performance.now();
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        out += text;
        if (out.includes('\n')) resolve(out);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code} before writing`)));
    });
    // The child needs a moment to start; without the bound the line would wait for 4 KB or exit (10 s).
    assert.ok(performance.now() - started < 5000);
    assert.equal((JSON.parse(line) as { event: string }).event, 'quiet.line');
    assert.equal(child.exitCode, null, 'written while the process was still running');
  } finally {
    child.kill('SIGKILL');
  }
});

/** Counts the bytes of every `fs.write` call (sonic-boom calls it through the module object at each write). */
function countWrites(): { sizes: number[]; restore: () => void } {
  const sizes: number[] = [];
  const original = fs.write;
  (fs as { write: unknown }).write = (...args: unknown[]) => {
    const data = args[1];
    sizes.push(typeof data === 'string' ? Buffer.byteLength(data) : (data as Buffer).length);
    return (original as (...a: unknown[]) => unknown)(...args);
  };
  return { sizes, restore: () => ((fs as { write: unknown }).write = original) };
}

/** Flushes and closes a destination writing to `file`, then returns the file's lines and removes `dir`. */
async function closeAndRead(
  destination: ReturnType<typeof logDestination>,
  dir: string,
  file: string,
): Promise<string[]> {
  await new Promise<void>((resolve, reject) => destination.flush((err) => (err ? reject(err) : resolve())));
  destination.end();
  await once(destination, 'close');
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

test('a backlog of lines goes out in writes of up to 64 KiB, every byte in order (decision 0189)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-log-'));
  const file = join(dir, 'out.log');
  const { sizes, restore } = countWrites();
  let lines: string[];
  try {
    const destination = logDestination(file);
    await once(destination, 'ready');
    const logger = createLogger({ level: 'info', destination });
    // 2,000 lines of ~300 bytes written at once: they wait while the first write is out.
    for (let i = 0; i < 2000; i++) logger.info({ event: 'request.end', i, pad: 'x'.repeat(220) }, 'done');
    lines = await closeAndRead(destination, dir, file);
  } finally {
    restore();
  }
  assert.equal(lines.length, 2000);
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { i: number }).i),
    Array.from({ length: 2000 }, (_, i) => i),
  );
  const largest = Math.max(...sizes);
  assert.ok(largest > 16 * 1024, `a write took more than sonic-boom's default 16 KiB (largest ${largest})`);
  assert.ok(largest <= LOG_WRITE_MAX, `no write over ${LOG_WRITE_MAX} bytes (largest ${largest})`);
});

test('an idle destination makes no writes: no periodic flush while nothing waits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'llmgw-log-'));
  const file = join(dir, 'out.log');
  const { sizes, restore } = countWrites();
  let lines: string[];
  try {
    // Fake timers before the destination exists, so that any timer it starts is a fake one too.
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    const destination = logDestination(file);
    await once(destination, 'ready');
    const logger = createLogger({ level: 'info', destination });
    t.mock.timers.tick(5_000);
    assert.deepEqual(
      sizes,
      [],
      "five idle seconds: no write (sonic-boom's periodic flush wrote an empty string)",
    );
    logger.info({ event: 'one' }, 'line');
    t.mock.timers.tick(99);
    assert.deepEqual(sizes, [], 'a line waits up to 100 ms');
    t.mock.timers.tick(1);
    assert.equal(sizes.length, 1, 'then goes out in one write');
    t.mock.timers.tick(5_000);
    assert.equal(sizes.length, 1, 'and nothing more is written while idle');
    t.mock.timers.reset();
    lines = await closeAndRead(destination, dir, file);
  } finally {
    restore();
  }
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { event: string }).event),
    ['one'],
  );
});
