/**
 * The embedded database belongs to one process (PGlite has no postmaster; two processes on one data
 * directory corrupt it). Real processes: a gateway on a PGlite directory holds it; a second gateway, the
 * `keys` and `migrate` commands on the same directory refuse with a message naming the directory and what
 * to do, and the first gateway keeps serving and recording. `--workers 2` without DATABASE_URL refuses at
 * start. Once the gateway stopped, the CLI works on the directory again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson, userMessage } from '../helpers/gateway.js';
import {
  baseEnv,
  freePort,
  type GatewayProcess,
  REPO_ROOT,
  startProcess,
  stopProcess,
} from '../helpers/process.js';

/** A gateway process, once ready (opening a PGlite file database takes seconds on a busy machine). */
async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await freePort();
  const proc = startProcess({ ...env, HOST: '127.0.0.1', PORT: String(port) });
  try {
    await proc.waitForLog((l) => l.event === 'gateway.ready', 90_000);
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
  proc.url = `http://127.0.0.1:${port}`;
  return proc;
}

/** Runs `src/main.ts` with `args` to completion. */
function run(env: Record<string, string>, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...baseEnv(), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('PGlite single-process ownership', { timeout: 240_000 }, () => {
  let mock: MockUpstream;
  let dir: string;
  let dataDir: string;
  let env: Record<string, string>;
  let first: GatewayProcess | undefined;
  before(async () => {
    mock = await MockUpstream.start();
    dir = mkdtempSync(join(tmpdir(), 'llmgw-own-'));
    dataDir = join(dir, 'pglite');
    // The embedded default: PGlite in a file directory, usage records on.
    env = { ...mockEnv(mock), GATEWAY_DATA_DIR: dataDir, USAGE_ENABLED: 'true', LOG_LEVEL: 'info' };
  });
  after(async () => {
    await stopProcess(first);
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a second process gets a clear error; the first keeps serving; the CLI refuses until it stops', async () => {
    first = await spawnGateway(env);
    // Ready means open: the database opened (and migrated) before the gateway listened.
    const ready = (await (await fetch(`${first.url}/health/ready`)).json()) as Record<string, string>;
    assert.deepEqual(ready, { status: 'ready', database: 'open' });
    assert.ok(existsSync(`${dataDir}.lock`), 'the lock file next to the data directory');

    const second = startProcess({ ...env, HOST: '127.0.0.1', PORT: '0' });
    assert.deepEqual(await second.exited, { code: 1, signal: null });
    assert.match(
      second.stderr(),
      new RegExp(`embedded database at ${dataDir} is in use by process ${first.child.pid}`),
    );
    assert.match(second.stderr(), /DATABASE_URL/);

    const keys = await run(env, ['keys', 'list']);
    assert.equal(keys.code, 1);
    assert.match(keys.stderr, new RegExp(`${dataDir} is in use`));
    assert.match(keys.stderr, /admin API/);
    const migrate = await run(env, ['migrate']);
    assert.equal(migrate.code, 1);
    assert.match(migrate.stderr, new RegExp(`${dataDir} is in use`));

    // The first one is unharmed: it answers and writes its usage records.
    const res = await postJson(`${first.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 200);
    await res.text();
    const health = (await (await fetch(`${first.url}/health`)).json()) as {
      dependencies: { database: { status: string } };
    };
    assert.equal(health.dependencies.database.status, 'ok');

    first.child.kill('SIGTERM');
    assert.deepEqual(await first.exited, { code: 0, signal: null });
    assert.equal(existsSync(`${dataDir}.lock`), false, 'released at shutdown');
    const after = await run(env, ['keys', 'list']);
    assert.equal(after.code, 0, after.stderr);
  });

  test('a gateway killed with SIGKILL leaves a stale lock that the next start takes over', async () => {
    const victim = await spawnGateway(env);
    victim.child.kill('SIGKILL');
    await victim.exited;
    assert.ok(existsSync(`${dataDir}.lock`), 'left behind');
    first = await spawnGateway(env);
    assert.equal((await fetch(`${first.url}/health/ready`)).status, 200);
    first.child.kill('SIGTERM');
    await first.exited;
  });

  test('--workers 2 without DATABASE_URL refuses at start, naming the reason and the directory', async () => {
    const refused = await run(env, ['--workers', '2']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--workers 2 needs DATABASE_URL/);
    assert.ok(refused.stderr.includes(dataDir));
  });
});
