import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResultRecord } from '../results.js';
import { renderMarkdown } from './markdown.js';
import { mdCode, mdLines, mdText } from './markdown-text.js';
import { buildReportModel } from './model.js';

const TARGET = 'echo|`x`';

function record(over: Partial<ResultRecord>): ResultRecord {
  return {
    run_id: 'r',
    item_id: 'i',
    target: TARGET,
    tags: [],
    question: 'q',
    answer: 'a',
    reference: null,
    error: null,
    scores: { faithfulness: 0.5 },
    unscored: {},
    notes: {},
    judge: {},
    ttft_ms: 10,
    total_ms: 20,
    input_tokens: 1,
    output_tokens: 1,
    cost_usd: 0,
    judge_cost_usd: 0,
    cache: null,
    request_id: null,
    retries: 0,
    ...over,
  };
}

test('report.md shows dataset text, answers and judge reasoning as text, never as HTML or structure', () => {
  const hostile = record({
    item_id: '<img src=x onerror=alert(1)>|x',
    question: '<script>alert(3)</script> Which gas?\n# Not a heading\n---',
    answer: 'Oxygen [click](javascript:alert(2)) **bold**\n| a | b |\n|---|---|\n1. one\n- item',
    judge: {
      faithfulness: {
        score: 0.5,
        prompt: 'faithfulness@v1',
        judge: 'gpt-4o-mini',
        reasoning: 'ok\n<img src=y onerror=alert(4)>\n> quoted',
        problem: null,
        costUsd: 0,
      },
    },
  });
  const model = buildReportModel(
    {
      run_id: 'run-<b>1</b>',
      dataset: 'data`set.jsonl',
      dataset_sha256: 'f'.repeat(64),
      items: 1,
      targets: [TARGET],
      judge: 'gpt-4o-mini',
      judge_prompts: ['faithfulness@v1'],
      started_at: '2026-01-01T00:00:00Z',
      finished_at: null,
      gateway: 'http://x',
    },
    [hostile],
    null,
  );
  const md = renderMarkdown(model);
  // No raw tag of the input survives anywhere.
  assert.doesNotMatch(md, /<img|<script|<b>/, md);
  assert.match(md, /&lt;img src=x onerror=alert\(1\)&gt;\\\|x/);
  // The only headings are the report's own: none comes from the question or the answer.
  const headings = md.split('\n').filter((l) => /^ {0,3}#/.test(l));
  assert.deepEqual(
    headings.map((h) => h.split(' ')[0]),
    ['#', '##', '##', '###'],
    headings.join('\n'),
  );
  // No line of the question, answer or reasoning starts a table, a list or a thematic break; the link and
  // emphasis are escaped.
  for (const line of md.slice(md.indexOf('## Least faithful')).split('\n')) {
    assert.doesNotMatch(line, /^(\||-{3}|- |1\. |> quoted)/, line);
  }
  assert.match(md, /\\\[click\\\]\(javascript:alert\(2\)\) \\\*\\\*bold\\\*\\\*/);
  assert.match(md, /^> &gt; quoted$/m, 'a judge line stays inside the quote');
  // A target holding a backtick and a pipe stays one code span, and one table cell.
  const row = md.split('\n').find((l) => l.startsWith('| ``'));
  assert.ok(row, md);
  const header = md.split('\n').find((l) => l.startsWith('| target |')) ?? '';
  assert.equal(row.split(/(?<!\\)\|/).length, header.split('|').length, row);
  assert.match(md, /- Dataset: ``data`set.jsonl`` /);
});

test('the escaping helpers', () => {
  assert.equal(mdText('a < b & c\nd'), 'a &lt; b &amp; c d');
  assert.equal(mdText('snake_case *x* #1'), 'snake\\_case \\*x\\* \\#1');
  assert.deepEqual(mdLines('- a\n  + b\n= c\n12) d\n3.e'), ['\\- a', '  \\+ b', '\\= c', '12\\) d', '3\\.e']);
  assert.equal(mdCode('plain'), '`plain`');
  assert.equal(mdCode('a``b'), '```a``b```');
  assert.equal(mdCode('`x'), '`` `x ``');
  assert.equal(mdCode('a|b'), '`a|b`');
  assert.equal(mdCode('a|b', true), '`a\\|b`');
});
