/**
 * What the real process says at start about a configuration that loads but cannot serve (DESIGN §10, §18):
 * a route whose every deployment needs a provider key that is not set is named in a warning with the
 * variable to set, as `llm-gateway check-config` names it, instead of only being listed as a route.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type GatewayProcess, spawnGateway, stopProcess } from '../helpers/process.js';

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
