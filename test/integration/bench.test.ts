/**
 * Smoke run of `npm run bench` and `npm run loadtest` so the scripts do not rot: a fraction of a second per
 * point, no peers, no pinning. Nothing here is timed: it checks that every point ran, that the gateway
 * answered every request, that unavailable features are reported as such (never measured as something they
 * are not), and that both result files are written.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../helpers/process.js';

function run(script: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => {
      stderr += t;
    });
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

interface BenchJson {
  targets: Array<{ name: string; unavailable: string | null; rssIdleMiB: number | null }>;
  measurements: Array<{
    point: string;
    target: string;
    result: { sent: number; ok: number; errors: number; ttfbMs: { p50: number } | null };
    cpuUsPerRequest: number | null;
    parked: number;
  }>;
}

describe('bench scripts (smoke)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-smoke-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('npm run bench: direct and gateway points measured, JSON and Markdown written', {
    timeout: 120_000,
  }, async () => {
    const out = join(dir, 'bench');
    const { code, stderr } = await run('bench/run.ts', [
      '--only',
      'overhead,stream',
      '--rates',
      '50',
      '--stream-rate',
      '20',
      '--duration',
      '0.5',
      '--warmup',
      '0',
      '--jit-warmup',
      '200',
      '--repeats',
      '1',
      '--peers',
      'none',
      '--skip-compiled',
      '--no-pin',
      '--out',
      out,
    ]);
    assert.equal(code, 0, stderr);
    // Every measured gateway is brought to its steady state first, with each kind of request it gets.
    assert.match(stderr, /JIT warm-up ours: [1-9]\d* requests \(miss, miss\+stream\)/);
    const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as BenchJson;
    for (const point of ['overhead@50', 'stream@20']) {
      for (const target of ['direct', 'ours']) {
        const m = json.measurements.find((x) => x.point === point && x.target === target);
        assert.ok(m, `${point} measured for ${target}`);
        assert.ok(m.result.sent > 0, `${point} ${target} sent requests`);
        assert.equal(m.result.ok, m.result.sent, `${point} ${target}: every request answered 200`);
        assert.equal(m.result.errors, 0);
        if (target === 'ours' && process.platform === 'linux') assert.ok(m.cpuUsPerRequest !== null);
      }
    }
    assert.ok(json.measurements.find((x) => x.point === 'stream@20' && x.target === 'ours')?.result.ttfbMs);
    // While one proxy is measured the others are stopped, and answer again afterwards (every request 200 above).
    if (process.platform === 'linux') {
      const proxies = json.targets.filter((t) => t.name !== 'direct' && t.unavailable === null);
      for (const m of json.measurements) {
        const others = proxies.filter((t) => t.name !== m.target).length;
        assert.ok(
          m.parked >= others,
          `${m.point} ${m.target}: the ${others} other proxies stopped meanwhile`,
        );
      }
    }
    // The production variant is either measured or named as not available, with the reason.
    const prod = json.targets.find((t) => t.name === 'ours-prod');
    assert.ok(prod, 'the production variant is listed');
    const prodMeasured = json.measurements.some((x) => x.target === 'ours-prod');
    assert.equal(prodMeasured, prod.unavailable === null, 'measured exactly when available');
    const md = await readFile(`${out}.md`, 'utf8');
    assert.match(md, /\| target \| req\/s \| p50 \| p99 \|/);
    assert.match(md, /## Ratios and targets \(DESIGN §14\)/);
    if (prod.unavailable) assert.match(md, /not available on this build/);
  });

  test('npm run bench -- --only coldstart,soak: a cold start per database and a soak with RSS per window', {
    timeout: 240_000,
  }, async () => {
    const out = join(dir, 'phases');
    const { code, stderr } = await run('bench/run.ts', [
      '--only',
      'coldstart,soak',
      '--coldstart-rate',
      '20',
      '--coldstart-seconds',
      '1',
      '--soak-rate',
      '20',
      '--soak-minutes',
      '0.05',
      '--warmup',
      '0',
      '--repeats',
      '1',
      '--peers',
      'none',
      '--skip-compiled',
      '--no-pin',
      '--out',
      out,
    ]);
    assert.equal(code, 0, stderr);
    const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as {
      coldStarts: Array<{ target: string; readyAfterMs: number; result: { sent: number; ok: number } }>;
      soaks: Array<{ windows: Array<{ rssMiB: number | null; errors: number }>; flat: boolean | null }>;
    };
    assert.deepEqual(
      json.coldStarts.map((c) => c.target),
      ['coldstart-pglite', 'coldstart-postgres'],
    );
    for (const c of json.coldStarts) {
      assert.ok(c.readyAfterMs > 0);
      assert.ok(c.result.sent > 0);
      assert.equal(c.result.ok, c.result.sent, `${c.target}: every request after ready answered 200`);
    }
    const soak = json.soaks[0];
    assert.ok(soak, 'the soak ran');
    assert.equal(soak.windows.length, 5);
    assert.ok(soak.windows.every((w) => w.errors === 0 && w.rssMiB !== null));
    const md = await readFile(`${out}.md`, 'utf8');
    assert.match(md, /## Cold start \(`coldstart`\)/);
    assert.match(md, /## Soak: ours-prod at 20 req\/s/);
  });

  test('npm run loadtest: 3:1:1 mix against a local gateway, no errors', { timeout: 120_000 }, async () => {
    const out = join(dir, 'loadtest');
    const { code, stderr } = await run('bench/loadtest.ts', [
      '--users',
      '2,4',
      '--stage-seconds',
      '1',
      '--wait',
      '0,0.05',
      '--ttft-ms',
      '5',
      '--out',
      out,
    ]);
    assert.equal(code, 0, stderr);
    const json = JSON.parse(await readFile(`${out}.json`, 'utf8')) as {
      overall: { requests: number; errorRatePct: number; scenarios: Record<string, { requests: number }> };
      success: { cacheHits: number; cacheHitRatePct: number | null; costSavedUsd: number | null };
      stages: unknown[];
    };
    assert.equal(json.stages.length, 2);
    assert.ok(json.overall.requests > 0);
    assert.equal(json.overall.errorRatePct, 0, JSON.stringify(json.overall));
    assert.ok((json.overall.scenarios.cached?.requests ?? 0) > 0, 'the cached task ran');
    // The seed's success figures: the repeated prompt is answered from the cache and saves its cost.
    assert.ok(json.success.cacheHits > 0, JSON.stringify(json.success));
    assert.ok((json.success.cacheHitRatePct ?? 0) > 0);
    assert.ok((json.success.costSavedUsd ?? 0) > 0, 'cost saved read from /metrics');
    const md = await readFile(`${out}.md`, 'utf8');
    assert.match(md, /\| stage \| users \| req\/s \|/);
    assert.match(md, /Success figures \(all stages\): cache hit rate [0-9.]+ %/);
  });
});
