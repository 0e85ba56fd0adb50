import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Embedder } from '../../cache/semantic/types.js';
import { averagePrecision, extractJson, runJudge } from './judge.js';

const input = { question: 'Q?', answer: 'A. B.', context: ['c1', 'c2'], reference: 'R' };
const reply = (text: string) => async () => ({ text, costUsd: 0.0001, error: null });

test('faithfulness: supported statements over all statements, with the reasons and the prompt version', async () => {
  const v = await runJudge('faithfulness', input, {
    judge: 'j',
    embedder: null,
    call: reply(
      'Sure! ```json\n{"statements":[{"statement":"A","reason":"in c1","verdict":1},{"statement":"B","reason":"nowhere","verdict":0},{"statement":"C","reason":"in c2","verdict":"1"}]}\n```',
    ),
  });
  assert.equal(v.score, 0.6667);
  assert.equal(v.prompt, 'faithfulness@v1');
  assert.match(v.reasoning, /✗ B — nowhere/);
  assert.equal(v.problem, null);
});

test('context precision is the mean precision@k over the useful passages', async () => {
  assert.equal(averagePrecision([1, 0]), 1);
  assert.equal(averagePrecision([0, 1]), 0.5);
  assert.equal(averagePrecision([1, 0, 1]), (1 + 2 / 3) / 2);
  assert.equal(averagePrecision([0, 0]), 0);
  const v = await runJudge('context_precision', input, {
    judge: 'j',
    embedder: null,
    call: reply(
      '{"verdicts":[{"passage":1,"reason":"no","verdict":0},{"passage":2,"reason":"yes","verdict":1}]}',
    ),
  });
  assert.equal(v.score, 0.5);
});

test('answer relevancy: mean cosine of the generated questions to the question; 0 when noncommittal', async () => {
  // A fake embedder: the question is (1,0); generated questions at cos 1 and cos 0.6.
  const vectors: Record<string, number[]> = { 'Q?': [1, 0], same: [1, 0], near: [0.6, 0.8] };
  const embedder: Embedder = {
    id: 'fake',
    dimensions: 2,
    embed: async (texts) => texts.map((t) => new Float32Array(vectors[t] ?? [0, 1])),
  };
  const ok = await runJudge('answer_relevancy', input, {
    judge: 'j',
    embedder,
    call: reply('{"questions":["same","near"],"noncommittal":0,"reason":"r"}'),
  });
  assert.equal(ok.score, 0.8);
  const evasive = await runJudge('answer_relevancy', input, {
    judge: 'j',
    embedder,
    call: reply('{"questions":["same"],"noncommittal":1,"reason":"declines"}'),
  });
  assert.equal(evasive.score, 0);
});

test('an unparseable or malformed judge answer gives no score and says why, never throws', async () => {
  const cases: Array<[string, RegExp]> = [
    ['seven out of ten', /not JSON/],
    ['{"statements": "all good"}', /no "statements" list/],
    ['{"statements":[{"statement":"A","verdict":"maybe"}]}', /not 0 or 1/],
  ];
  for (const [text, problem] of cases) {
    const v = await runJudge('faithfulness', input, { judge: 'j', embedder: null, call: reply(text) });
    assert.equal(v.score, null);
    assert.match(v.problem ?? '', problem);
  }
  const wrongCount = await runJudge('context_precision', input, {
    judge: 'j',
    embedder: null,
    call: reply('{"verdicts":[{"verdict":1}]}'),
  });
  assert.match(wrongCount.problem ?? '', /1 verdicts for 2 passages/);
  const failed = await runJudge('faithfulness', input, {
    judge: 'j',
    embedder: null,
    call: async () => ({ text: '', costUsd: null, error: 'HTTP 500: boom' }),
  });
  assert.match(failed.problem ?? '', /judge call failed: HTTP 500/);
  assert.equal(extractJson('no braces'), null);
});
