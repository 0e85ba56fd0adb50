/**
 * `llm-gateway eval run` as a process: killed mid-run and run again, it continues where it stopped (no pair
 * twice in results.jsonl, none missing, finished pairs not asked again); and its report.html renders in a
 * real browser (Chromium through playwright-core), with every plot drawn.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ResultRecord } from '../../src/eval/results.js';
import { evalAnswers } from '../fixtures/mock-upstream/eval-answers.js';
import { browserSkipReason, launchChromium } from '../helpers/browser.js';
import { useGateway } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { REPO_ROOT } from '../helpers/process.js';

const ITEMS = Array.from({ length: 10 }, (_, i) => ({
  id: `q${i}`,
  input: `Which river flows through city number ${i}?`,
  context: [`City number ${i} lies on the river Alpha${i}. It has ${i + 2} bridges.`, 'Bananas are yellow.'],
  reference: `The river Alpha${i}.`,
  regex: `\\bAlpha${i}\\b`,
}));

function cli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'eval', 'run', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, GATEWAY_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

const lines = async (path: string): Promise<string[]> =>
  (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(Boolean);

let tmp = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'eval-cli-'));
  await writeFile(join(tmp, 'rivers.jsonl'), ITEMS.map((i) => JSON.stringify(i)).join('\n'));
});
after(() => rm(tmp, { recursive: true, force: true }));

describe('eval run as a process', () => {
  // Each answer streams word by word, 40 ms apart: a run of 10 items takes a few seconds, long enough to kill.
  const t = useGateway({}, { frameIntervalMs: 40 });

  test('killed mid-run, the same command continues: every pair once, finished pairs not asked again', async () => {
    t.mock.setAnswer(evalAnswers);
    const out = join(tmp, 'resume');
    const args = ['--dataset', join(tmp, 'rivers.jsonl'), '--target', 'gpt-4o-mini', '--gateway', t.gw.url];
    const more = ['--out', out, '--concurrency', '1', '--metrics', 'exact_match,regex,latency_ms,cost_usd'];
    // Three answers, then the fourth never comes: the kill always lands mid-run, however slow the machine.
    t.mock.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'delay' as const, ms: 0 })), { kind: 'hang' });
    const first = cli([...args, ...more]);
    await until(
      '3 results written',
      () => lines(join(out, 'results.jsonl')),
      (l) => l.length >= 3,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    const before = (await lines(join(out, 'results.jsonl'))).map(
      (l) => (JSON.parse(l) as ResultRecord).item_id,
    );
    assert.equal(before.length, 3, `killed after ${before.length} items`);

    const second = cli([...args, ...more]);
    assert.equal(await second.exited, 0, second.err());
    assert.match(second.err(), new RegExp(`resuming: ${before.length}/${ITEMS.length} already done`));
    const records = (await lines(join(out, 'results.jsonl'))).map((l) => JSON.parse(l) as ResultRecord);
    assert.deepEqual(
      records.map((r) => r.item_id),
      ITEMS.map((i) => i.id),
    );
    assert.ok(records.every((r) => r.error === null && r.scores.regex === 1));
    // Items finished before the kill were not asked again; at most the one in flight was asked twice.
    const asked = ITEMS.map(
      (i) => t.mock.requests.filter((r) => r.parsed?.lastUserText.includes(i.input)).length,
    );
    for (const id of before) assert.equal(asked[ITEMS.findIndex((i) => i.id === id)], 1, `${id} asked again`);
    assert.ok(asked.reduce((a, b) => a + b, 0) <= ITEMS.length + 1);
    assert.match(second.out(), /run eval-\S+: 10 results/);
  });

  test('Ctrl-C stops at once (exit 130): finished pairs kept, the pair in flight dropped, and says how to continue', async () => {
    t.mock.setAnswer(evalAnswers);
    const out = join(tmp, 'interrupt');
    // Two answers, then the third never comes: Ctrl-C always lands with a pair in flight. (`--no-cache`: the
    // test above asked the same questions, and cached answers would not reach the upstream.)
    t.mock.enqueue({ kind: 'delay', ms: 0 }, { kind: 'delay', ms: 0 }, { kind: 'hang' });
    const run = cli([
      '--dataset',
      join(tmp, 'rivers.jsonl'),
      '--target',
      'gpt-4o-mini',
      '--gateway',
      t.gw.url,
      '--out',
      out,
      '--concurrency',
      '1',
      '--no-cache',
      '--metrics',
      'regex',
    ]);
    await until(
      '2 results written',
      () => lines(join(out, 'results.jsonl')),
      (l) => l.length >= 2,
    );
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 130);
    assert.match(run.err(), /interrupted: \d+\/10 done; run the same command again to continue/);
    const records = (await lines(join(out, 'results.jsonl'))).map((l) => JSON.parse(l) as ResultRecord);
    assert.equal(records.length, 2);
    assert.ok(
      records.every((r) => r.error === null),
      'an interrupted pair is not written as a failure',
    );
  });

  test('report.html renders in Chromium: tables, one plot per metric, cost against quality', {
    skip: browserSkipReason(),
  }, async () => {
    t.mock.setAnswer(evalAnswers);
    const out = join(tmp, 'report');
    const run = cli([
      '--dataset',
      join(tmp, 'rivers.jsonl'),
      '--target',
      'gpt-4o-mini',
      '--target',
      'claude-haiku-4-5',
      '--target',
      'gemini-2.0-flash',
      '--gateway',
      t.gw.url,
      '--out',
      out,
      '--concurrency',
      '6',
      '--metrics',
      'exact_match,faithfulness,latency_ms,cost_usd',
    ]);
    assert.equal(await run.exited, 0, run.err());
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${join(out, 'report.html')}`);
      assert.deepEqual(
        requests.filter((u) => !u.startsWith('file:')),
        [],
        'no external asset',
      );
      assert.equal(
        await page.locator('table').first().locator('tr').count(),
        4,
        'a header and three targets',
      );
      const plots = page.locator('svg');
      assert.ok((await plots.count()) >= 4, 'exact_match, faithfulness, cost vs quality, latency');
      for (let i = 0; i < (await plots.count()); i++) {
        const box = await plots.nth(i).boundingBox();
        assert.ok(box && box.width > 100 && box.height > 50, `plot ${i} is drawn`);
      }
      assert.equal(await page.locator('svg circle[r="7"]').count(), 3, 'one cost/quality point per target');
      const shot = join(out, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok((await stat(shot)).size > 10_000);
    } finally {
      await browser.close();
    }
  });
});
