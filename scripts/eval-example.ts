/**
 * The committed example run (docs/evaluation.md, examples/eval/report/): the 50 questions of
 * examples/eval/qa.jsonl through a gateway started in process, against three targets served by the mock
 * upstream's simulated models (test/fixtures/mock-upstream/eval-answers.ts; until the demo upstream lands),
 * judged by the mock's deterministic judge; then a screenshot of report.html in Chromium for the docs.
 *
 *   npm run eval:example            (writes examples/eval/report/ and docs/evaluation/report.png)
 *
 * Scores are the same on every run; latencies and timestamps are not.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runEvalCommand } from '../src/cli/eval.js';
import { systemClock } from '../src/core/clock.js';
import { evalAnswers } from '../test/fixtures/mock-upstream/eval-answers.js';
import { MockUpstream } from '../test/fixtures/mock-upstream/server.js';
import { browserSkipReason, launchChromium } from '../test/helpers/browser.js';

const out = 'examples/eval/report';
// A realistic profile: 120 ms to the first byte, then 40 tokens a second (one word a frame).
const mock = await MockUpstream.start({ firstByteMs: 120, frameIntervalMs: 25, recordRequests: false });
mock.setAnswer(evalAnswers);
const env = {
  OPENAI_API_KEY: 'sk-example',
  OPENAI_BASE_URL: `${mock.url}/v1`,
  ANTHROPIC_API_KEY: 'sk-ant-example',
  ANTHROPIC_BASE_URL: mock.url,
  GEMINI_API_KEY: 'example',
  GEMINI_BASE_URL: mock.url,
  GATEWAY_DATA_DIR: 'memory://',
  USAGE_ENABLED: 'false',
  RATE_LIMIT_ENABLED: 'false',
  LOG_LEVEL: 'warn',
};
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
    '--judge',
    'gpt-4o-mini',
    '--concurrency',
    '6',
    '--out',
    out,
    '--name',
    'example: three models on qa.jsonl',
  ],
  env,
  {
    out: (t) => process.stdout.write(t),
    err: { write: (t) => process.stderr.write(t), isTTY: process.stderr.isTTY === true },
    signal: new AbortController().signal,
  },
  systemClock,
);
await mock.close();
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
