/**
 * `promtool check config`, `promtool check rules` and `promtool test rules` over deploy/prometheus. In CI
 * (CI=true) a missing promtool is a failure; locally the tests are skipped with the reason shown
 * (`apt-get install -y prometheus` provides it; .ci/run installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROM = resolve(fileURLToPath(new URL('../../deploy/prometheus', import.meta.url)));

function promtoolMissing(): string | undefined {
  const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  if (!probe.error) return undefined;
  if (process.env.CI)
    throw new Error('promtool is not installed (CI=true: it is required; apt-get install -y prometheus)');
  return 'promtool is not installed (apt-get install -y prometheus)';
}

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: PROM, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('promtool', { skip: promtoolMissing() }, () => {
  test('check config: the scrape config and its rule files are valid', () => {
    const run = promtool('check', 'config', 'prometheus.yml');
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /SUCCESS: 2 rule files found/);
  });

  test('check rules: recording and alert rules are valid', () => {
    const run = promtool('check', 'rules', join('rules', 'recording.yml'), join('rules', 'alerts.yml'));
    assert.equal(run.status, 0, run.output);
  });

  test('test rules: the alerts fire (and stay quiet) as their unit tests expect', () => {
    const run = promtool('test', 'rules', join('tests', 'alerts.test.yml'));
    assert.equal(run.status, 0, run.output);
    assert.match(run.output, /SUCCESS/);
  });
});
