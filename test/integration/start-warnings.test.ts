/**
 * The real process while it starts (DESIGN §10, §13, §18): a route whose every deployment needs a provider
 * key that is not set is named in a warning with the variable to set, as `llm-gateway check-config` names
 * it; and SIGTERM while the start waits for the database stops it cleanly (exit 0), not by the signal.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type GatewayProcess, spawnGateway, startProcess, stopProcess } from '../helpers/process.js';

let dir: string;
let gw: GatewayProcess | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gateway-start-'));
});
after(async () => {
  await stopProcess(gw);
  await rm(dir, { recursive: true, force: true });
});

test('a route no deployment of which can serve is named at start, with the key to set', async () => {
  const file = join(dir, 'gateway.yaml');
  await writeFile(
    file,
    [
      'providers:',
      '  corp:',
      '    type: openai',
      '    base_url: https://llm.corp.example/v1',
      '    api_key_env: CORP_LLM_KEY',
      '    models: [corp-model]',
      '  local:',
      '    type: openai',
      '    base_url: http://127.0.0.1:9/v1',
      '    requires_api_key: false',
      '    models: [tiny]',
      'routes:',
      '  smart:',
      '    deployments: [{ provider: corp, model: corp-model }]',
      '  cheap:',
      '    deployments: [{ provider: local, model: tiny }]',
      '',
    ].join('\n'),
  );
  gw = await spawnGateway({}, ['--config', file]);
  const warning = await gw.waitForLog((l) => l.event === 'gateway.route_unusable');
  assert.equal(warning.level, 'warn');
  assert.equal(warning.route, 'smart');
  assert.match(String(warning.msg), /Route "smart" cannot serve: .*set CORP_LLM_KEY/);
  const named = gw.lines.filter((l) => l.event === 'gateway.route_unusable').map((l) => l.route);
  assert.deepEqual(named, ['smart'], 'the usable route is not warned about');
});

test('SIGTERM while the start waits for the database: a clean stop, exit 0, never listening', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve)); // nobody listens there now
  const proc = startProcess({
    PORT: '0',
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
    USAGE_SPOOL_DIR: join(dir, 'spool'),
  });
  try {
    await proc.waitForLog((l) => l.event === 'dependency.error' && l.dependency === 'database');
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr: ${proc.stderr()}`);
    assert.ok(proc.lines.some((l) => l.event === 'shutdown.done'));
    assert.ok(!proc.lines.some((l) => l.event === 'gateway.ready'), 'never listened');
  } finally {
    await stopProcess(proc);
  }
});
