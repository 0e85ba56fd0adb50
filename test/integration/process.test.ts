/**
 * The real gateway process (`node --import tsx src/main.ts`), as operators run it: fuzzed bodies never
 * break it (DESIGN §1.5, §15), SIGTERM drains in-flight streams and exits 0 (§13), and an invalid config
 * fails the start with every problem listed (§10).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Pool } from 'undici';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fuzzCases } from '../helpers/fuzz-bodies.js';
import { mockEnv } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';
import { type GatewayProcess, spawnGateway, startProcess, stopProcess } from '../helpers/process.js';

/** Reproduce a failure with FUZZ_SEED=<seed> (and FUZZ_COUNT for a longer run). */
const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_2026);
const FUZZ_COUNT = Number(process.env.FUZZ_COUNT ?? 2000);
const CONCURRENCY = 8;

/** How a gateway that is shutting down may turn new work away. */
const REFUSED = new Set<number | string>([503, 'ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET']);

const chatBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello' }], ...extra });

describe('the real process: fuzzed request bodies, thread priorities', () => {
  let mock: MockUpstream;
  let gw: GatewayProcess | undefined;
  before(async () => {
    mock = await MockUpstream.start();
  });
  after(async () => {
    await stopProcess(gw);
    await mock.close();
  });

  test(`${FUZZ_COUNT} mutated bodies (seed ${FUZZ_SEED}): no 5xx, OpenAI error bodies, still alive`, async () => {
    const schemas = loadOpenAISchemas();
    gw = await spawnGateway(mockEnv(mock));
    const pool = new Pool(gw.url, { connections: CONCURRENCY, pipelining: 1 });
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    const cases = [...fuzzCases(FUZZ_SEED, FUZZ_COUNT)];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < cases.length; i = next++) {
        const c = cases[i];
        if (!c) break;
        const sample = (typeof c.body === 'string' ? c.body : c.body.toString('hex')).slice(0, 200);
        try {
          const res = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers: c.contentType === undefined ? {} : { 'content-type': c.contentType },
            body: c.body,
          });
          const text = await res.body.text();
          const status = res.statusCode;
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          const type = String(res.headers['content-type'] ?? '');
          if (status >= 500) {
            failures.push(`${c.name}: ${status} ${text.slice(0, 300)} ← ${sample}`);
          } else if (status >= 400) {
            const body = JSON.parse(text) as unknown;
            if (!schemas.error(body)) failures.push(`${c.name}: ${status} not an OpenAI error body: ${text}`);
            else if (!type.startsWith('application/json')) failures.push(`${c.name}: error as ${type}`);
          } else if (type.startsWith('text/event-stream')) {
            if (!text.endsWith('data: [DONE]\n\n'))
              failures.push(`${c.name}: stream without [DONE]: ${text.slice(-300)}`);
          } else {
            assertSchema(schemas.completion, JSON.parse(text), `${c.name} completion`);
          }
        } catch (err) {
          failures.push(`${c.name}: ${String(err)} ← ${sample}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pool.close();

    const summary = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, n]) => `${s}×${n}`)
      .join(' ');
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures (statuses: ${summary})`);
    assert.ok((statuses.get(200) ?? 0) > 50, `valid bodies were served (statuses: ${summary})`);
    assert.ok(
      [...statuses.keys()].some((s) => s === 422),
      'schema violations were reported',
    );

    assert.equal(gw.child.exitCode, null, 'the process is alive');
    assert.equal((await fetch(`${gw.url}/health/live`)).status, 200);
    const ok = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(),
    });
    assert.equal(ok.status, 200);
    assert.equal(
      ((await ok.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content,
      'Hello from the mock',
    );

    gw.child.kill('SIGTERM');
    assert.deepEqual(await gw.exited, { code: 0, signal: null });
    const errors = gw.lines.filter(
      (l) => l.level === 'error' || l.level === 'fatal' || l.level === 'non-json',
    );
    assert.deepEqual(errors.slice(0, 5), [], 'no error-level or non-JSON log lines');
    const ends = gw.lines.filter((l) => l.event === 'request.end').length;
    assert.equal(ends, FUZZ_COUNT + 1, 'one request.end per chat request');
    assert.equal(gw.stderr(), '');
  });

  test('the helper threads run at nice 10 from ready on, the event loop at its own priority (decision 0186)', {
    skip: process.platform !== 'linux' ? 'Linux only (per-thread nice)' : false,
  }, async () => {
    const proc = await spawnGateway(mockEnv(mock));
    try {
      const pid = proc.child.pid as number;
      // One request through first: whatever threads serving needs (the thread pool for the log) exist.
      const res = await fetch(`${proc.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: chatBody(),
      });
      assert.equal(res.status, 200);
      const nice = new Map<number, number>();
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
      }
      assert.equal(nice.get(pid), 0);
      const helpers = [...nice].filter(([tid]) => tid !== pid);
      assert.ok(helpers.length >= 4, `helper threads: ${helpers.length}`);
      assert.deepEqual(
        helpers.filter(([, value]) => value !== 10),
        [],
        'every helper thread at nice 10',
      );
    } finally {
      await stopProcess(proc);
    }
  });
});

describe('graceful shutdown on SIGTERM', () => {
  let mock: MockUpstream;
  let gw: GatewayProcess | undefined;
  before(async () => {
    // 30 frames 40 ms apart: the stream runs for about 1.2 s.
    mock = await MockUpstream.start({ frameIntervalMs: 40, chunkCount: 30 });
  });
  after(async () => {
    await stopProcess(gw);
    await mock.close();
  });

  test('an in-flight stream completes, new work is refused, the process exits 0', async () => {
    // A grace period well above the stream's length, so that a drain that waits for it fails fast.
    gw = await spawnGateway({ ...mockEnv(mock), SHUTDOWN_GRACE_SECONDS: '5' });
    const client = new Client(gw.url);
    const res = await client.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody({ stream: true }),
    });
    assert.equal(res.statusCode, 200);
    const chunks = res.body[Symbol.asyncIterator]();
    const first = await chunks.next();
    assert.ok(!first.done, 'the stream started');

    gw.child.kill('SIGTERM');
    await gw.waitForLog((l) => l.event === 'shutdown.start');

    // New work: refused at the socket (listener closed, or a just-accepted connection reset while the
    // server closes idle connections) or with a 503.
    const refused = async (path: string, init?: RequestInit) => {
      try {
        const r = await fetch(`${gw?.url}${path}`, init);
        await r.arrayBuffer();
        return r.status;
      } catch (err) {
        return (err as { cause?: { code?: string } }).cause?.code ?? String(err);
      }
    };
    const fresh = await refused('/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: chatBody(),
    });
    assert.ok(REFUSED.has(fresh), `new request: ${fresh}`);
    const ready = await refused('/health/ready');
    assert.ok(REFUSED.has(ready), `/health/ready: ${ready}`);

    let text = Buffer.from(first.value as Uint8Array).toString('utf8');
    for (let n = await chunks.next(); !n.done; n = await chunks.next()) {
      text += Buffer.from(n.value as Uint8Array).toString('utf8');
    }
    const streamEnded = performance.now();
    assert.ok(text.endsWith('data: [DONE]\n\n'), `the stream completed: …${text.slice(-200)}`);
    const content = text
      .split('\n\n')
      .filter((e) => e.startsWith('data: {'))
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0])
      .map((choice) => choice?.delta.content ?? '')
      .join('');
    assert.equal(content, 'Hello from the mock upstream.'.repeat(5), 'all 30 pieces arrived');
    assert.equal(mock.requests[0]?.closedEarly, false, 'the upstream was not cut');

    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(performance.now() >= streamEnded);
    const events = gw.lines.map((l) => l.event).filter(Boolean);
    assert.deepEqual(
      events.filter((e) => e !== 'request.end'),
      ['gateway.ready', 'shutdown.start', 'shutdown.done'],
      'drained without forcing connections closed',
    );
    assert.equal(gw.lines.filter((l) => l.event === 'request.end' && l.status === 200).length, 1);
    await client.close();
  });
});

describe('shutdown when nobody reads the logs any more', () => {
  let gw: GatewayProcess | undefined;
  after(() => stopProcess(gw));

  // A log shipper that died leaves stdout a broken pipe; the last log lines cannot be written, and
  // flushing them at exit must not hang the process (sonic-boom 4 retried such a write for ever).
  test('SIGTERM with stdout closed still exits 0', { timeout: 15_000 }, async () => {
    // No usage records: this test is about stdout, and the embedded database would cost seconds at start.
    gw = await spawnGateway({ LOG_LEVEL: 'info', USAGE_ENABLED: 'false' });
    gw.child.stdout?.destroy();
    await fetch(`${gw.url}/health`).then((r) => r.arrayBuffer());
    gw.child.kill('SIGTERM');
    assert.deepEqual(await gw.exited, { code: 0, signal: null });
  });
});

describe('invalid configuration', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gateway-config-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('exit code 1 and every problem listed on stderr', async () => {
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'log:\n  level: loud\nretry:\n  max_attempts: 0\n');
    const proc = startProcess({ PORT: 'notanumber' }, ['--config', file]);
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, `stderr: ${proc.stderr()}`);
    const stderr = proc.stderr();
    assert.match(stderr, /server\.port.*PORT.*notanumber/, 'the env problem, with its variable');
    assert.match(stderr, /log\.level/, 'the first file problem');
    assert.match(stderr, /retry\.max_attempts/, 'the second file problem');
    assert.ok(!proc.lines.some((l) => l.event === 'gateway.ready'), 'never listened');
  });
});
