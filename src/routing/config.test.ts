import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'routes-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problems(yamlText: string, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ env, yamlText });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('routing config', () => {
  test('breaker defaults; one field in the file keeps the others', () => {
    const config = loadConfig({ env: {}, yamlText: 'routing: { breaker: { cooldown_ms: 5000 } }' });
    assert.equal(config.routing.breaker.cooldown_ms, 5000);
    assert.equal(config.routing.breaker.consecutive_failures, 5);
    assert.equal(config.routing.latency.ewma_alpha, 0.3);
  });

  test('every strategy is accepted; an unknown one is named with the choices', () => {
    for (const s of ['failover', 'round_robin', 'weighted', 'cost', 'latency', 'quality']) {
      assert.deepEqual(
        problems(`routes: { x: { strategy: ${s}, deployments: [{ provider: openai, model: m }] } }`),
        [],
      );
    }
    const [problem] = problems(
      'routes: { x: { strategy: fastest, deployments: [{ provider: openai, model: m }] } }',
    );
    assert.match(problem ?? '', /routes\.x\.strategy: expected one of "failover", "round_robin"/);
  });

  test('per-deployment breaker, rank and prices are validated', () => {
    const found = problems(`routes:
  x:
    deployments:
      - { provider: openai, model: m, rank: 1, input_cost_per_mtok: -1, breaker: { half_open_probes: 0 } }`);
    assert.ok(
      found.some((p) => p.startsWith('routes.x.deployments.0.input_cost_per_mtok')),
      found.join('\n'),
    );
    assert.ok(
      found.some((p) => p.startsWith('routes.x.deployments.0.breaker.half_open_probes')),
      found.join('\n'),
    );
  });

  test('two deployments with the same id in one route must be named apart', () => {
    const found = problems(`routes:
  x:
    deployments:
      - { provider: openai, model: m, base_url: "http://10.0.0.1/v1" }
      - { provider: openai, model: m, base_url: "http://10.0.0.2/v1" }`);
    assert.match(
      found.join('\n'),
      /routes\.x\.deployments\.1: a second deployment with id "openai\/m"; give each a distinct name/,
    );
    assert.deepEqual(
      problems(`routes:
  x:
    deployments:
      - { name: east, provider: openai, model: m, base_url: "http://10.0.0.1/v1" }
      - { name: west, provider: openai, model: m, base_url: "http://10.0.0.2/v1" }`),
      [],
    );
  });

  test('ROUTES_FILE adds routes (a routes: mapping or aliases at the top level)', () => {
    const nested = join(dir, 'nested.yaml');
    writeFileSync(
      nested,
      'routes:\n  smart:\n    strategy: cost\n    deployments: [{ provider: openai, model: gpt-4o-mini }]\n',
    );
    const flat = join(dir, 'flat.yaml');
    writeFileSync(flat, 'fast:\n  deployments: [{ provider: anthropic, model: claude-haiku-4-5 }]\n');
    const a = loadConfig({
      env: { ROUTES_FILE: nested },
      yamlText: 'routes: { other: { deployments: [{ provider: openai, model: x }] } }',
    });
    assert.deepEqual(Object.keys(a.routes).sort(), ['other', 'smart']);
    assert.equal(a.routes.smart?.strategy, 'cost');
    const b = loadConfig({ env: {}, yamlText: `routing: { routes_file: "${flat}" }` });
    assert.equal(b.routes.fast?.strategy, 'failover');
  });

  test('a routes file that is missing or redefines an alias is a problem', () => {
    assert.match(
      problems('', { ROUTES_FILE: join(dir, 'nope.yaml') }).join('\n'),
      /cannot read the config file/,
    );
    const dup = join(dir, 'dup.yaml');
    writeFileSync(dup, 'smart: { deployments: [{ provider: openai, model: y }] }\n');
    assert.match(
      problems('routes: { smart: { deployments: [{ provider: openai, model: x }] } }', {
        ROUTES_FILE: dup,
      }).join('\n'),
      /route "smart" is also defined in the main config/,
    );
  });
});
