/**
 * `eval run` with prompt-version targets against a real gateway and the mock upstream: a prompt created
 * through the admin API with two versions and two labels; `prompt:qa@production` and `prompt:qa@1` are
 * rendered by the gateway (the upstream sees the rendered messages), next to a model target, and the
 * results are stored per target. Also: the judge prompts registered in the prompt registry and used from
 * there (docs/evaluation.md, decision 0141).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runEvalCommand } from '../../src/cli/eval.js';
import { systemClock } from '../../src/core/clock.js';
import type { ResultRecord } from '../../src/eval/results.js';
import { evalAnswers } from '../fixtures/mock-upstream/eval-answers.js';
import { useGateway } from '../helpers/gateway.js';

const ADMIN = 'admin-eval-prompts-0123456789';

const ITEMS = [
  {
    id: 'tower',
    input: 'When was the Eiffel Tower completed?',
    variables: { topic: 'landmarks' },
    context: ['The Eiffel Tower is in Paris. It was completed in 1889.', 'Bananas are yellow.'],
  },
  {
    id: 'river',
    input: 'Which river flows through Paris?',
    variables: { topic: 'rivers' },
    context: ['The Seine flows through Paris.', 'The Thames flows through London.'],
  },
];

async function evalCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runEvalCommand(
    args,
    {},
    {
      out: (t) => {
        out += t;
      },
      err: {
        write: (t) => {
          err += t;
        },
        isTTY: false,
      },
      signal: new AbortController().signal,
    },
    systemClock,
  );
  return { code, out, err };
}

async function admin(url: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

type Sent = { messages?: Array<{ role: string; content: string }> };
const systemOf = (body: unknown): string | null =>
  (body as Sent).messages?.find((m) => m.role === 'system')?.content ?? null;
const lastUserOf = (body: unknown): string =>
  (body as Sent).messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '';

let tmp = '';
let dataset = '';
let apiKey = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'eval-prompts-'));
  dataset = join(tmp, 'items.jsonl');
  await writeFile(dataset, ITEMS.map((i) => JSON.stringify(i)).join('\n'));
});
after(() => rm(tmp, { recursive: true, force: true }));

test('bad prompt targets and judge-prompt flags exit 2 before anything runs', async () => {
  for (const [args, message] of [
    [['--target', 'prompt:_qa@production'], /1 to 64 letters/],
    [['--target', 'prompt:qa@0'], /whole number from 1/],
    [['--target', 'gpt-4o-mini', '--judge-prompts', 'registry'], /needs --admin-key/],
    [['--target', 'gpt-4o-mini', '--judge-prompts', 'db'], /registry or files/],
  ] as const) {
    const ran = await evalCli(['run', '--dataset', dataset, ...args, '--out', join(tmp, 'never')]);
    assert.equal(ran.code, 2, ran.err);
    assert.match(ran.err, message);
  }
});

describe('eval run with prompt-version targets', () => {
  const t = useGateway({ env: { GATEWAY_ADMIN_KEY: ADMIN } });

  before(async () => {
    const url = t.gw.url;
    apiKey = (
      (await admin(url, 'POST', '/admin/keys', { name: 'eval', user_id: 'evaluator' })) as { key: string }
    ).key;
    await admin(url, 'POST', '/admin/prompts', {
      id: 'qa',
      messages: [{ role: 'system', content: 'V1 You answer questions about {{topic}}.' }],
      variables: { topic: { type: 'string' } },
      model: 'gpt-4o-mini',
    });
    await admin(url, 'POST', '/admin/prompts/qa/versions', {
      messages: [{ role: 'system', content: 'V2 Answer in one sentence; the subject is {{topic}}.' }],
      variables: { topic: { type: 'string' } },
      model: 'gpt-4o-mini',
    });
    await admin(url, 'PUT', '/admin/prompts/qa/labels/production', { version: 2 });
    await admin(url, 'PUT', '/admin/prompts/qa/labels/staging', { version: 1 });
  });

  test('the gateway renders each version for its target; results are stored per target', async () => {
    t.mock.setAnswer(evalAnswers);
    const out = join(tmp, 'run');
    const targets = ['prompt:qa@production', 'prompt:qa@1', 'gpt-4o-mini'];
    const ran = await evalCli([
      'run',
      '--dataset',
      dataset,
      ...targets.flatMap((x) => ['--target', x]),
      '--metrics',
      'faithfulness,latency_ms,cost_usd',
      '--gateway',
      t.gw.url,
      '--api-key',
      apiKey,
      '--admin-key',
      ADMIN,
      '--out',
      out,
      '--concurrency',
      '2',
    ]);
    assert.equal(ran.code, 0, ran.err);

    // What the upstream saw: the rendered system message of each version, then the item's question.
    const targetCalls = t.mock.requests
      .map((r) => r.body)
      .filter((b) => !lastUserOf(b).startsWith('[llm-gateway eval judge:'));
    assert.equal(targetCalls.length, ITEMS.length * targets.length);
    for (const item of ITEMS) {
      const topic = item.variables.topic;
      const mine = targetCalls.filter((b) => lastUserOf(b).endsWith(`Question: ${item.input}`));
      assert.deepEqual(mine.map((b) => systemOf(b) ?? '(none)').sort(), [
        '(none)',
        `V1 You answer questions about ${topic}.`,
        `V2 Answer in one sentence; the subject is ${topic}.`,
      ]);
    }

    // results.jsonl and the admin API: one result per item and target, naming the version that served it.
    const lines = (await readFile(join(out, 'results.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ResultRecord);
    const runId = lines[0]?.run_id as string;
    const stored = (await admin(t.gw.url, 'GET', `/admin/evals/runs/${runId}/results`)) as {
      data: ResultRecord[];
    };
    for (const records of [lines, stored.data]) {
      assert.equal(records.length, ITEMS.length * targets.length);
      for (const target of targets) {
        const mine = records.filter((r) => r.target === target);
        assert.deepEqual(mine.map((r) => r.item_id).sort(), ['river', 'tower']);
        for (const r of mine) {
          assert.equal(r.error, null);
          assert.equal(r.scores.faithfulness, 1, `${target} ${r.item_id}: ${r.answer}`);
        }
      }
      const served = (target: string) => records.find((r) => r.target === target)?.prompt_version;
      assert.equal(served('prompt:qa@production'), 'qa@2');
      assert.equal(served('prompt:qa@1'), 'qa@1');
      assert.equal(served('gpt-4o-mini'), undefined);
    }
    const run = (await admin(t.gw.url, 'GET', `/admin/evals/runs/${runId}`)) as { targets: string[] };
    assert.deepEqual(run.targets, targets);
    // The judge prompt came from the prompt registry: each score names it.
    for (const r of lines) assert.equal(r.judge.faithfulness?.prompt, 'eval-faithfulness@1');
  });

  test('judge prompts: registered once as eval-<metric> version 1, reused, a differing stored version refused', async () => {
    t.mock.setAnswer(evalAnswers);
    // Someone stored another text as eval-context-precision version 1: it must be neither used nor changed.
    await admin(t.gw.url, 'POST', '/admin/prompts', {
      id: 'eval-context-precision',
      messages: [{ role: 'user', content: 'Rate {{answer}} from 1 to 10.' }],
    });
    const run = async (out: string, more: string[] = []) =>
      evalCli([
        'run',
        '--dataset',
        dataset,
        '--target',
        'gpt-4o-mini',
        '--metrics',
        'faithfulness,context_precision',
        '--gateway',
        t.gw.url,
        '--api-key',
        apiKey,
        '--admin-key',
        ADMIN,
        '--out',
        join(tmp, out),
        ...more,
      ]);
    const first = await run('judge-1');
    assert.equal(first.code, 0, first.err);
    assert.match(
      first.err,
      /warning: judge prompt context_precision@v1 from its file: eval-context-precision version 1 in the prompt registry differs/,
    );
    const second = await run('judge-2');
    assert.equal(second.code, 0, second.err);

    const stored = (await admin(t.gw.url, 'GET', '/admin/prompts/eval-faithfulness/versions')) as {
      data: Array<{ version: number; model: string | null; messages: Array<{ content: string }> }>;
    };
    assert.deepEqual(
      stored.data.map((v) => v.version),
      [1],
      'registered once, reused by the second run',
    );
    assert.equal(stored.data[0]?.model, null, "the judge model is the run's --judge");
    assert.match(stored.data[0]?.messages[0]?.content ?? '', /^\[llm-gateway eval judge: faithfulness@v1\]/);
    const other = (await admin(t.gw.url, 'GET', '/admin/prompts/eval-context-precision/versions')) as {
      data: Array<{ messages: Array<{ content: string }> }>;
    };
    assert.deepEqual(
      other.data.map((v) => v.messages[0]?.content),
      ['Rate {{answer}} from 1 to 10.'],
    );

    for (const out of ['judge-1', 'judge-2']) {
      const records = (await readFile(join(tmp, out, 'results.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as ResultRecord);
      for (const r of records) {
        assert.equal(r.judge.faithfulness?.prompt, 'eval-faithfulness@1');
        assert.equal(r.scores.faithfulness, 1);
        assert.equal(r.judge.context_precision?.prompt, 'context_precision@v1');
        assert.equal(r.scores.context_precision, 1);
      }
      const info = JSON.parse(await readFile(join(tmp, out, 'run.json'), 'utf8')) as {
        judge_prompts: string[];
      };
      assert.deepEqual(info.judge_prompts, ['eval-faithfulness@1', 'context_precision@v1']);
    }

    // --judge-prompts files: the built-in text, even with --admin-key.
    const files = await run('judge-files', ['--judge-prompts', 'files']);
    assert.equal(files.code, 0, files.err);
    const line = (await readFile(join(tmp, 'judge-files', 'results.jsonl'), 'utf8')).split('\n')[0] as string;
    assert.equal((JSON.parse(line) as ResultRecord).judge.faithfulness?.prompt, 'faithfulness@v1');
  });

  test('a missing prompt variable is the pair error the gateway names, not a crash; prompt targets alone have no judge', async () => {
    t.mock.setAnswer(evalAnswers);
    const bad = join(tmp, 'bad.jsonl');
    await writeFile(bad, JSON.stringify({ id: 'no-topic', input: 'Hello?' }));
    const ran = await evalCli([
      'run',
      '--dataset',
      bad,
      '--target',
      'prompt:qa@staging',
      '--gateway',
      t.gw.url,
      '--api-key',
      apiKey,
      '--out',
      join(tmp, 'bad'),
    ]);
    assert.equal(ran.code, 1, 'nothing could be evaluated');
    assert.match(ran.err, /HTTP 422: .*topic/);
    // Only prompt targets and no --judge: no judge, and it says so.
    assert.match(ran.err, /note: no judge metrics: the judge defaults to the first model target/);
  });
});
