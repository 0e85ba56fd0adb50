/**
 * `--workers N` / `WORKERS=N` (node:cluster): N worker processes serve one port, a worker that dies is
 * replaced, and SIGTERM to the primary drains every worker and exits 0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson } from '../helpers/gateway.js';
import { freePort, type GatewayProcess, startProcess, stopProcess } from '../helpers/process.js';

describe('--workers (node:cluster)', () => {
  let mock: MockUpstream;
  let gw: GatewayProcess | undefined;
  before(async () => {
    mock = await MockUpstream.start();
  });
  after(async () => {
    await stopProcess(gw);
    await mock.close();
  });

  test('two workers serve one port, a dead worker is replaced, SIGTERM stops all and exits 0', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const proc = startProcess({ ...mockEnv(mock), HOST: '127.0.0.1', PORT: String(port) }, [
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

  test('an invalid worker count fails the start with the problem named', async () => {
    const proc = startProcess({ WORKERS: '0' });
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    assert.match(proc.stderr(), /workers.*WORKERS.*"0"/);
  });
});
