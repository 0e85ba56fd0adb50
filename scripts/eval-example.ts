/**
 * The committed example run (docs/evaluation.md, examples/eval/report/): the 50 questions of
 * examples/eval/qa.jsonl across three targets, through the demo (`llm-gateway demo`: the real gateway in
 * front of the simulated upstream of src/demo/, whose evaluation mode answers RAG questions with three
 * simulated models of different quality and judge prompts with a deterministic judge,
 * src/demo/eval-answers.ts). The run talks to the demo as to any running gateway: `--gateway`, the demo's
 * API key, and `--admin-key`, so the run is stored through the admin API and the judge prompts come from
 * the prompt registry. Then a screenshot of report.html in Chromium for the docs.
 *
 *   npm run eval:example            (writes examples/eval/report/ and docs/evaluation/report*.png)
 *
 * Scores are the same on every run; latencies, costs of retried calls and timestamps are not.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runEvalCommand } from '../src/cli/eval.js';
import { systemClock } from '../src/core/clock.js';
import { startDemo } from '../src/demo/run.js';
import { browserSkipReason, launchChromium } from '../test/helpers/browser.js';

const out = 'examples/eval/report';
// The demo's realistic latency and its 2 % of retried 503s; no demo traffic; the demo key's rate limit
// (60 a minute) is off: an evaluation of 150 pairs and 450 judge calls would spend most of its time waiting.
const demo = await startDemo({
  env: { PORT: '0', LOG_LEVEL: 'error', RATE_LIMIT_ENABLED: 'false' },
  clock: systemClock,
  traffic: false,
});
await rm(out, { recursive: true, force: true });
const code = await runEvalCommand(
  [
    'run',
    '--dataset',
    'examples/eval/qa.jsonl',
    '--target',
    'gpt-4o-mini',
    '--target',
    'claude-haiku-4-5',
    '--target',
    'gemini-2.0-flash',
    '--gateway',
    demo.url,
    '--api-key',
    demo.apiKey,
    '--admin-key',
    demo.adminKey,
    '--judge',
    'gpt-4o-mini',
    '--concurrency',
    '6',
    '--out',
    out,
    '--name',
    'example: three models on qa.jsonl',
  ],
  {},
  {
    out: (t) => process.stdout.write(t),
    err: { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    signal: new AbortController().signal,
  },
  systemClock,
);
await demo.close();
if (code !== 0) process.exit(code);

const skip = browserSkipReason();
if (skip) {
  process.stderr.write(`no screenshot: ${skip}\n`);
} else {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(`file://${join(process.cwd(), out, 'report.html')}`);
  await page.screenshot({ path: 'docs/evaluation/report.png', fullPage: false });
  await page.screenshot({ path: 'docs/evaluation/report-full.png', fullPage: true });
  await browser.close();
  process.stdout.write('screenshots: docs/evaluation/report.png, docs/evaluation/report-full.png\n');
}
