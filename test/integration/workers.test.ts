/**
 * `--workers N` / `WORKERS=N` (node:cluster): N worker processes serve one port, a worker that dies is
 * replaced, and SIGTERM to the primary drains every worker and exits 0.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson } from '../helpers/gateway.js';
import { freePort, type GatewayProcess, startProcess, stopProcess } from '../helpers/process.js';
import {
  createTestDatabase,
  REDIS_URL,
  requireServices,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';

// Workers need PostgreSQL and, with rate limits and budgets on (the defaults), Redis (workersProblem).
const skip = await requireServices('redis', 'postgres');

describe('--workers (node:cluster)', { skip }, () => {
  let mock: MockUpstream;
  let gw: GatewayProcess | undefined;
  let db: TestDatabase;
  /** What workers share: PostgreSQL and Redis (keys under a prefix of this file's own). */
  const shared = () => ({ DATABASE_URL: db.url, REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix('workers') });
  before(async () => {
    mock = await MockUpstream.start();
    db = await createTestDatabase('workers');
  });
  after(async () => {
    await stopProcess(gw);
    await mock.close();
    await db.drop();
  });

  test('two workers serve one port, a dead worker is replaced, SIGTERM stops all and exits 0', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const proc = startProcess({ ...mockEnv(mock), ...shared(), HOST: '127.0.0.1', PORT: String(port) }, [
      '--workers',
      '2',
    ]);
    gw = proc;
    proc.url = `http://127.0.0.1:${port}`;
    await proc.waitForLog((l) => l.event === 'workers.start', 30_000);
    const readyPids = async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const pids = new Set(proc.lines.filter((l) => l.event === 'gateway.ready').map((l) => l.pid));
        if (pids.size >= n) return pids;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`fewer than ${n} workers became ready; stderr: ${proc.stderr()}`);
    };
    const first = await readyPids(2);
    const primary = proc.lines.find((l) => l.event === 'workers.start')?.pid;
    assert.equal(primary, proc.child.pid, 'the process started is the primary');
    assert.ok(![...first].includes(primary), 'the primary does not serve');

    const res = await postJson(`${proc.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    assert.equal(res.status, 200, await res.text());

    // A worker that dies is replaced by a new one on the same port.
    const victim = [...first][0] as number;
    process.kill(victim, 'SIGKILL');
    await proc.waitForLog((l) => l.event === 'worker.exit' && l.pid === victim, 15_000);
    await readyPids(3);
    assert.equal((await fetch(`${proc.url}/health/live`)).status, 200);

    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, proc.stderr());
    const stopped = proc.lines.filter((l) => l.event === 'shutdown.done');
    assert.ok(stopped.length >= 3, 'each live worker and the primary logged shutdown.done');
  });

  test('/metrics is the whole instance: N requests over two workers show N, on every scrape, monotonic', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const proc = startProcess({ ...mockEnv(mock), ...shared(), HOST: '127.0.0.1', PORT: String(port) }, [
      '--workers',
      '2',
    ]);
    gw = proc;
    proc.url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 30_000;
    while (new Set(proc.lines.filter((l) => l.event === 'gateway.ready').map((l) => l.pid)).size < 2) {
      assert.ok(Date.now() < deadline, `two workers ready; stderr: ${proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Each request on a connection of its own: the primary hands connections to the workers in turn.
    const N = 20;
    for (let i = 0; i < N; i++) {
      const status = await onNewConnection(`${proc.url}/v1/chat/completions`, 'POST', {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      assert.equal(status.code, 200, status.body);
    }
    const chat =
      'llm_requests_total{cache_status="bypass",model="gpt-4o-mini",provider="openai",status="200"}';
    let previous = { scrapes: 0, cpu: 0 };
    for (let scrape = 0; scrape < 8; scrape++) {
      const { code, body } = await onNewConnection(`${proc.url}/metrics`, 'GET');
      assert.equal(code, 200, body);
      const samples = samplesOf(body);
      assert.equal(samples.get(chat), N, `scrape ${scrape}: every worker's requests`);
      const scrapes = samples.get('llm_http_requests_total{method="GET",route="/metrics",status="200"}') ?? 0;
      const cpu = samples.get('process_cpu_seconds_total') ?? 0;
      assert.ok(scrapes >= previous.scrapes && cpu >= previous.cpu, `scrape ${scrape} went backwards`);
      assert.equal(scrapes, scrape, 'the scrapes before this one, whichever worker took them');
      previous = { scrapes, cpu };
      assert.equal(samples.get('llm_active_requests'), 0);
      assert.equal(
        samples.get('process_start_time_seconds'),
        undefined,
        'per-process start times are left out',
      );
    }

    proc.child.kill('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null }, proc.stderr());
  });

  test('workers without PostgreSQL or, with limits on, without Redis refuse to start, naming both needs', async () => {
    const proc = startProcess({ GATEWAY_DATA_DIR: 'memory://' }, ['--workers', '2']);
    assert.equal((await proc.exited).code, 1);
    assert.match(
      proc.stderr(),
      /--workers 2 needs DATABASE_URL \(PostgreSQL\): with GATEWAY_DATA_DIR=memory:\/\//,
    );
    assert.match(proc.stderr(), /--workers 2 needs Redis .* for rate limits and budgets/);
    const limitsOff = startProcess(
      {
        DATABASE_URL: db.url,
        RATE_LIMIT_ENABLED: 'false',
        USAGE_ENABLED: 'false',
        PORT: String(await freePort()),
      },
      ['--workers', '2'],
    );
    gw = limitsOff;
    await limitsOff.waitForLog((l) => l.event === 'workers.start', 30_000);
    limitsOff.child.kill('SIGTERM');
    assert.deepEqual(await limitsOff.exited, { code: 0, signal: null }, limitsOff.stderr());
  });

  test('an invalid worker count fails the start with the problem named', async () => {
    const proc = startProcess({ WORKERS: '0' });
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    assert.match(proc.stderr(), /workers.*WORKERS.*"0"/);
  });
});

/** One HTTP request on a new connection (no keep-alive pool: each lands on the next worker). */
function onNewConnection(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method, agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** `name{labels}` → value of an exposition (labels as written: prom-client sorts none, so as registered). */
function samplesOf(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const key = line.slice(0, space);
    const labels = /^([^{]+)\{(.*)\}$/.exec(key);
    const sorted = labels
      ? `${labels[1]}{${(labels[2] as string)
          .split(/,(?=[a-z_]+=")/)
          .sort()
          .join(',')}}`
      : key;
    samples.set(sorted, Number(line.slice(space + 1)));
  }
  return samples;
}
