import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/llm-gateway.mjs');

function run(args: string[], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/_API_KEY$|_BASE_URL$/.test(k)),
  );
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
}

test('llm-gateway check-config: a valid file lists offered providers and resolved routes', () => {
  const out = run(['check-config', '--config', 'config/gateway.example.yaml'], { OPENAI_API_KEY: 'sk-x' });
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /configuration is valid/);
  assert.match(out.stdout, /✓ openai \(openai\)/);
  assert.match(out.stdout, /- anthropic \(anthropic\): set ANTHROPIC_API_KEY/);
  assert.match(out.stdout, /✓ smart → openai\/gpt-4o-mini/);
});

test('llm-gateway check-config: a route with no usable deployment fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(
    file,
    'routes:\n  only-claude:\n    deployments:\n      - { provider: anthropic, model: claude-haiku-4-5 }\n',
  );
  const out = run(['check-config', '--config', file]);
  assert.equal(out.status, 1);
  assert.match(out.stdout, /✗ only-claude: .*set ANTHROPIC_API_KEY/);
});

test('llm-gateway check-config: an invalid file exits 1 listing the problems', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-cli-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'server: { port: -1 }\nretry: { max_attempts: 0 }\n');
  const out = run(['check-config', '--config', file]);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /server\.port/);
  assert.match(out.stderr, /retry\.max_attempts/);
});

test('an invalid WORKERS / --workers is listed with the other configuration problems (audit G, F8)', () => {
  for (const [args, env] of [
    [['check-config'], { WORKERS: 'abc', PORT: 'abc' }],
    [['start', '--workers', '0'], { PORT: 'abc', GATEWAY_DATA_DIR: 'memory://' }],
  ] as const) {
    const out = run([...args], env);
    assert.equal(out.status, 1, out.stderr);
    assert.match(out.stderr, /^Invalid configuration:$/m);
    assert.match(out.stderr, /^ {2}- server\.port \(from env PORT\): expected a whole number, got "abc"$/m);
    assert.match(
      out.stderr,
      /^ {2}- workers \(--workers or env WORKERS\): expected a whole number from 1 to 64, got "(abc|0)"$/m,
    );
  }
});

test('llm-gateway with an unknown command prints usage and exits 2', () => {
  const out = run(['frobnicate']);
  assert.equal(out.status, 2);
  assert.match(out.stdout, /Usage:/);
});

test('llm-gateway with an unknown option or a stray argument names it, prints usage and exits 2', () => {
  for (const args of [
    ['--prot', '8080'],
    ['check-config', '--port', '5'],
    ['start', '8080'],
  ]) {
    const out = run(args, { GATEWAY_DATA_DIR: 'memory://' });
    assert.equal(out.status, 2, `${args.join(' ')}: ${out.stderr}`);
    assert.match(
      out.stderr,
      /^llm-gateway: (Unknown option '--(prot|port)'\.|unexpected argument "8080" after start)$/m,
    );
    assert.match(out.stderr, /Usage:/);
    assert.doesNotMatch(out.stderr, /failed to start/);
  }
});

test('llm-gateway keys with an unknown option prints the keys usage and exits 2', () => {
  const out = run(['keys', 'list', '--usr', 'x'], { GATEWAY_DATA_DIR: 'memory://' });
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, /^Unknown option '--usr'\.$/m);
  assert.match(out.stderr, /llm-gateway keys create/);
});

test('llm-gateway spend without a subcommand says one is missing and prints its usage (exit 2)', () => {
  const out = run(['spend'], { GATEWAY_DATA_DIR: 'memory://' });
  assert.equal(out.status, 2, out.stderr);
  assert.match(out.stderr, /^missing spend command$/m);
  assert.match(out.stderr, /llm-gateway spend rebuild-rollups/);
});
