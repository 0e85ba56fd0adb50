/**
 * `llm-gateway eval run|compare` against a real gateway and the mock upstream with a deterministic judge
 * (test/fixtures/mock-upstream/eval-answers.ts): each metric on hand-made answers (faithful and unfaithful,
 * relevant and irrelevant), an unparseable judge counted as unscored, the CI gate, bad input (exit 2 with the
 * line number), the reports, and runs stored through the admin API on PGlite and PostgreSQL.
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
import type { ParsedMockRequest } from '../fixtures/mock-upstream/types.js';
import { useGateway } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const EIFFEL = ['The Eiffel Tower is in Paris. It was completed in 1889.', 'Bananas are rich in potassium.'];
/** Hand-made items; `answer` is what the simulated target replies to the item's question. */
const ITEMS = [
  {
    id: 'faithful',
    input: 'When was the Eiffel Tower completed?',
    context: EIFFEL,
    answer: 'The Eiffel Tower was completed in 1889.',
  },
  {
    id: 'unfaithful',
    input: 'When was the tower in Paris completed?',
    context: EIFFEL,
    answer: 'The Eiffel Tower was completed in 1889. Leonardo da Vinci designed the Eiffel Tower.',
  },
  { id: 'relevant', input: 'What is the capital of France?', answer: 'The capital of France is Paris.' },
  {
    id: 'irrelevant',
    input: 'What is the capital city of France?',
    answer: 'Bananas are rich in potassium and grow in tropical climates.',
  },
  { id: 'exact', input: 'Capital of Italy, one word?', reference: 'Rome', answer: '  rome. ' },
  { id: 'inexact', input: 'Capital of Spain, one word?', reference: 'Madrid', answer: 'Barcelona' },
  { id: 'regex', input: 'Year of the moon landing, digits only?', regex: '^\\d{4}$', answer: '1969' },
  {
    id: 'json-ok',
    input: 'City as JSON?',
    json_schema: { type: 'object', required: ['city'] },
    answer: '{"city": "Paris"}',
  },
  {
    id: 'json-bad',
    input: 'Town as JSON?',
    json_schema: { type: 'object', required: ['city'] },
    answer: 'Paris',
  },
  {
    id: 'ranked-first',
    input: 'Where is the Eiffel Tower?',
    context: ['The Eiffel Tower is in Paris.', 'Bananas are yellow.'],
    reference: 'The Eiffel Tower is in Paris.',
    answer: 'In Paris.',
  },
  {
    id: 'ranked-second',
    input: 'Where is the big tower?',
    context: ['Bananas are yellow.', 'The Eiffel Tower is in Paris.'],
    reference: 'The Eiffel Tower is in Paris.',
    answer: 'In Paris.',
  },
  {
    id: 'same',
    input: 'Describe the tower briefly.',
    reference: 'A wrought-iron lattice tower in Paris.',
    answer: 'A wrought-iron lattice tower in Paris.',
  },
];

/** Judge prompts get the deterministic judge; target calls get the hand-made answer of their question. */
function handMade(req: ParsedMockRequest) {
  if (req.lastUserText.startsWith('[llm-gateway eval judge:')) return evalAnswers(req);
  const item = ITEMS.find(
    (i) => req.lastUserText === i.input || req.lastUserText.endsWith(`Question: ${i.input}`),
  );
  return item ? { text: item.answer } : {};
}

const datasetText = ITEMS.map(({ answer: _a, ...item }) => JSON.stringify(item)).join('\n');

interface Ran {
  code: number;
  out: string;
  err: string;
}
async function evalCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  let out = '';
  let err = '';
  const code = await runEvalCommand(
    args,
    env,
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

const results = async (dir: string): Promise<ResultRecord[]> =>
  (await readFile(join(dir, 'results.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as ResultRecord);

let tmp = '';
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'eval-test-'));
  await writeFile(join(tmp, 'hand.jsonl'), datasetText);
});
after(() => rm(tmp, { recursive: true, force: true }));

describe('eval run: metrics on hand-made answers', () => {
  const t = useGateway();
  let byId: Map<string, ResultRecord>;
  let run: Ran;
  before(async () => {
    t.mock.setAnswer(handMade);
    run = await evalCli([
      'run',
      '--dataset',
      join(tmp, 'hand.jsonl'),
      '--target',
      'gpt-4o-mini',
      '--gateway',
      t.gw.url,
      '--out',
      join(tmp, 'hand'),
      '--concurrency',
      '3',
    ]);
    byId = new Map((await results(join(tmp, 'hand'))).map((r) => [r.item_id, r]));
  });

  test('the run succeeds with one result per item, each with latency, tokens and the gateway cost', () => {
    assert.equal(run.code, 0, run.err);
    assert.equal(byId.size, ITEMS.length);
    for (const r of byId.values()) {
      assert.equal(r.error, null);
      assert.ok((r.ttft_ms ?? -1) >= 0 && (r.total_ms ?? -1) >= (r.ttft_ms ?? 0));
      assert.equal(r.scores.latency_ms, r.total_ms);
      assert.ok((r.output_tokens ?? 0) > 0);
      assert.ok((r.cost_usd ?? 0) > 0, 'gpt-4o-mini is priced: the gateway reports X-Cost');
      assert.equal(r.scores.cost_usd, r.cost_usd);
    }
  });

  test('faithfulness: 1 for an answer the context supports, 1/2 when one of two statements is invented', () => {
    assert.equal(byId.get('faithful')?.scores.faithfulness, 1);
    const unfaithful = byId.get('unfaithful');
    assert.equal(unfaithful?.scores.faithfulness, 0.5);
    assert.equal(unfaithful?.judge.faithfulness?.prompt, 'faithfulness@v1');
    assert.match(unfaithful?.judge.faithfulness?.reasoning ?? '', /✗ Leonardo da Vinci/);
  });

  test('answer relevancy: high for an answer to the question, low for an answer about something else', () => {
    const relevant = byId.get('relevant')?.scores.answer_relevancy ?? -1;
    const irrelevant = byId.get('irrelevant')?.scores.answer_relevancy ?? -1;
    assert.ok(relevant > 0.7, `relevant ${relevant}`);
    assert.ok(irrelevant >= 0 && irrelevant < 0.4, `irrelevant ${irrelevant}`);
  });

  test('context precision: 1 when the useful passage is ranked first, 1/2 when second', () => {
    assert.equal(byId.get('ranked-first')?.scores.context_precision, 1);
    assert.equal(byId.get('ranked-second')?.scores.context_precision, 0.5);
    assert.equal(byId.get('relevant')?.scores.context_precision, undefined, 'no context: not applicable');
  });

  test('exact match (normalised), regex, JSON schema and semantic similarity', () => {
    assert.equal(byId.get('exact')?.scores.exact_match, 1);
    assert.equal(byId.get('inexact')?.scores.exact_match, 0);
    assert.equal(byId.get('regex')?.scores.regex, 1);
    assert.equal(byId.get('json-ok')?.scores.json_schema, 1);
    assert.equal(byId.get('json-bad')?.scores.json_schema, 0);
    assert.equal(byId.get('json-bad')?.notes.json_schema, 'the answer is not JSON');
    assert.ok((byId.get('same')?.scores.semantic_similarity ?? 0) > 0.99);
    assert.ok((byId.get('inexact')?.scores.semantic_similarity ?? 1) < 0.9);
    assert.equal(byId.get('faithful')?.scores.exact_match, undefined, 'no reference: not applicable');
  });

  test('report.md and report.html hold the summary; the HTML has no external asset', async () => {
    const md = await readFile(join(tmp, 'hand', 'report.md'), 'utf8');
    assert.match(md, /\| `gpt-4o-mini` \| 12 \| 0 \|/);
    assert.match(md, /faithfulness/);
    const html = await readFile(join(tmp, 'hand', 'report.html'), 'utf8');
    assert.match(html, /<svg /);
    assert.doesNotMatch(html, /(src|href)=["']?https?:/);
    assert.doesNotMatch(html, /<script/);
  });
});

describe('eval run: judge failures, gates, bad input, compare', () => {
  const t = useGateway();
  const small = async (name: string) => {
    const path = join(tmp, `${name}.jsonl`);
    await writeFile(
      path,
      ITEMS.filter((i) => i.context)
        .map(({ answer: _a, ...i }) => JSON.stringify(i))
        .join('\n'),
    );
    return path;
  };

  test('an unparseable judge answer gives no score for that metric, counted, and the run still succeeds', async () => {
    t.mock.setAnswer(evalAnswers);
    const out = join(tmp, 'garbage');
    const ran = await evalCli([
      'run',
      '--dataset',
      await small('g'),
      '--target',
      'gpt-4o-mini',
      '--judge',
      'openai/garbage-judge',
      '--gateway',
      t.gw.url,
      '--out',
      out,
    ]);
    assert.equal(ran.code, 0, ran.err);
    const rs = await results(out);
    for (const r of rs) {
      assert.equal(r.scores.faithfulness, undefined);
      assert.equal(r.unscored.faithfulness, 'the judge answer is not JSON');
      assert.match(r.judge.faithfulness?.reasoning ?? '', /7 out of 10/);
    }
    assert.match(
      await readFile(join(out, 'report.md'), 'utf8'),
      new RegExp(`n=0 \\(${rs.length} unscored\\)`),
    );
  });

  test('the CI gate passes for a faithful model and fails (exit 1) when faithfulness drops', async () => {
    t.mock.setAnswer(evalAnswers);
    const dataset = await small('gate');
    const pass = await evalCli([
      'run',
      '--dataset',
      dataset,
      '--target',
      'gpt-4o-mini',
      '--gateway',
      t.gw.url,
      '--out',
      join(tmp, 'gate-a'),
      '--fail-below',
      'faithfulness=0.9',
    ]);
    assert.equal(pass.code, 0, pass.out + pass.err);
    const fail = await evalCli([
      'run',
      '--dataset',
      dataset,
      '--target',
      'gemini-2.0-flash',
      '--judge',
      'gpt-4o-mini',
      '--gateway',
      t.gw.url,
      '--out',
      join(tmp, 'gate-b'),
      '--fail-below',
      'faithfulness=0.9',
    ]);
    assert.equal(fail.code, 1);
    assert.match(
      fail.out,
      /GATE FAILED: gemini-2\.0-flash: faithfulness = 0\.\d+ \(must not be below 0\.9\)/,
    );
    assert.match(
      await readFile(join(tmp, 'gate-b', 'report.md'), 'utf8'),
      /## Gates\n\n- ✗ `gemini-2.0-flash`/,
    );

    const compared = await evalCli(['compare', join(tmp, 'gate-a'), join(tmp, 'gate-b')]);
    assert.equal(compared.code, 0, compared.err);
    assert.match(compared.out, /## `gemini-2.0-flash` vs `gpt-4o-mini`/);
    assert.match(compared.out, /\| faithfulness \| 1\.000 \| 0\.\d+ \| -0\.\d+/);
  });

  test('bad input exits 2: the dataset line number, an unknown metric, a gate out of range', async () => {
    const bad = join(tmp, 'bad.jsonl');
    await writeFile(bad, '{"input":"ok"}\n{"input": 42}\n');
    const base = ['run', '--target', 'gpt-4o-mini', '--gateway', t.gw.url, '--out', join(tmp, 'bad')];
    const r1 = await evalCli([...base, '--dataset', bad]);
    assert.equal(r1.code, 2);
    assert.match(r1.err, /bad\.jsonl: line 2: "input" must be a string/);
    const r2 = await evalCli([...base, '--dataset', await small('x'), '--fail-below', 'politeness=0.5']);
    assert.equal(r2.code, 2);
    assert.match(r2.err, /unknown metric "politeness"/);
    const r3 = await evalCli([...base, '--dataset', await small('y'), '--fail-below', 'faithfulness=7']);
    assert.equal(r3.code, 2);
    assert.match(r3.err, /0–1 score/);
    const r4 = await evalCli([...base, '--dataset', join(tmp, 'missing.jsonl')]);
    assert.equal(r4.code, 2);
    assert.match(r4.err, /ENOENT/);
    assert.equal((await evalCli(['compare', join(tmp, 'nowhere'), join(tmp, 'gate-a')])).code, 2);
  });
});

const skipPg = await requireServices('postgres');
const pgDb: TestDatabase | undefined = skipPg ? undefined : await createTestDatabase('eval');
after(async () => pgDb?.drop());
const ADMIN = 'admin-SECRET-eval-test-0123456789';
for (const store of ['pglite', 'postgres'] as const) {
  describe(`eval run --admin-key stores the run (${store})`, {
    skip: store === 'postgres' ? skipPg : undefined,
  }, () => {
    const t = useGateway(() => ({
      env: {
        GATEWAY_ADMIN_KEY: ADMIN,
        AUTH_MODE: 'none',
        ...(store === 'postgres' ? { DATABASE_URL: pgDb?.url } : {}),
      },
    }));

    test('run, results and report through /admin/evals; compare reads stored runs by id', async () => {
      t.mock.setAnswer(evalAnswers);
      const out = join(tmp, `stored-${store}`);
      const dataset = join(tmp, 'hand.jsonl');
      const ran = await evalCli([
        'run',
        '--dataset',
        dataset,
        '--target',
        'gpt-4o-mini',
        '--target',
        'claude-haiku-4-5',
        '--metrics',
        'exact_match,faithfulness,latency_ms',
        '--gateway',
        t.gw.url,
        '--admin-key',
        ADMIN,
        '--out',
        out,
      ]);
      assert.equal(ran.code, 0, ran.err);
      const runId = (JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as { run_id: string }).run_id;
      const get = async (path: string) => {
        const res = await fetch(`${t.gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
        assert.equal(res.status, 200, path);
        return res.json() as Promise<Record<string, unknown>>;
      };
      const run = await get(`/admin/evals/runs/${runId}`);
      assert.equal(run.status, 'finished');
      assert.deepEqual(run.targets, ['gpt-4o-mini', 'claude-haiku-4-5']);
      assert.ok(run.finished_at);
      const stored = (await get(`/admin/evals/runs/${runId}/results`)).data as ResultRecord[];
      assert.equal(stored.length, ITEMS.length * 2);
      assert.deepEqual(
        stored.map((r) => `${r.item_id}/${r.target}`).sort(),
        (await results(out)).map((r) => `${r.item_id}/${r.target}`).sort(),
      );
      const report = await get(`/admin/evals/runs/${runId}/report`);
      assert.equal((report.targets as unknown[]).length, 2);
      const list = (await get('/admin/evals/runs')).data as Array<{ id: string }>;
      assert.ok(list.some((r) => r.id === runId));
      const missing = await fetch(`${t.gw.url}/admin/evals/runs/nope`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      assert.equal(missing.status, 404);
      const unauthorised = await fetch(`${t.gw.url}/admin/evals/runs`);
      assert.equal(unauthorised.status, 401);
      const openapi = (await (await fetch(`${t.gw.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      for (const path of [
        '/admin/evals/runs',
        '/admin/evals/runs/{id}',
        '/admin/evals/runs/{id}/results',
        '/admin/evals/runs/{id}/report',
      ]) {
        assert.ok(openapi.paths[path], `${path} is documented`);
      }
      const compared = await evalCli(['compare', runId, out, '--gateway', t.gw.url, '--admin-key', ADMIN]);
      assert.equal(compared.code, 0, compared.err);
      assert.match(
        compared.out,
        /## `gpt-4o-mini`\n[\s\S]*\| faithfulness \| 1\.000 \| 1\.000 \| \+0\.000 [^\n]* \| 1\.000 \| 4 \|/,
      );
    });
  });
}
