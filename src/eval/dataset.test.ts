import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DatasetError, parseDataset, questionOf } from './dataset.js';

test('a valid dataset: ids default to the line, context may be one passage, blank lines are skipped', () => {
  const items = parseDataset(
    [
      '{"input":"Q1?","context":"one passage","reference":"A1","tags":["t"]}',
      '',
      '{"id":7,"input":[{"role":"system","content":"be brief"},{"role":"user","content":"Q2?"}],"regex":"^\\\\d+$"}',
      '{"id":"v","variables":{"topic":"x"},"json_schema":{"type":"object"}}',
    ].join('\n'),
  );
  assert.deepEqual(
    items.map((i) => [i.id, i.context, i.reference, i.regex]),
    [
      ['line-1', ['one passage'], 'A1', null],
      ['7', [], null, '^\\d+$'],
      ['v', [], null, null],
    ],
  );
  assert.equal(questionOf(items[1]!), 'Q2?');
  assert.equal(questionOf(items[2]!), '{"topic":"x"}');
});

test('every bad line is reported with its number and what is wrong', () => {
  const text = [
    '{"input":"fine","id":"a"}',
    'not json',
    '{"context":["c"]}',
    '{"input":"x","id":"a"}',
    '{"input":"x","regex":"("}',
    '{"input":"x","json_schema":{"type":"nope"}}',
    '{"input":"x","reference":3,"colour":"red"}',
    '[1,2]',
    '{"input":[{"role":"robot","content":"hi"}]}',
  ].join('\n');
  const err = (() => {
    try {
      parseDataset(text);
    } catch (e) {
      return e as DatasetError;
    }
    throw new Error('no error');
  })();
  assert.ok(err instanceof DatasetError);
  const byLine = (n: number) => err.problems.filter((p) => p.startsWith(`line ${n}:`)).join(' | ');
  assert.match(byLine(2), /not valid JSON/);
  assert.match(byLine(3), /needs "input" or "variables"/);
  assert.match(byLine(4), /id "a" is already used on line 1/);
  assert.match(byLine(5), /"regex" is not a valid regular expression/);
  assert.match(byLine(6), /"json_schema" is not a valid JSON Schema/);
  assert.match(byLine(7), /unknown field "colour"/);
  assert.match(byLine(7), /"reference" must be a string/);
  assert.match(byLine(8), /expected a JSON object/);
  assert.match(byLine(9), /input\[0\]\.role/);
  assert.equal(byLine(1), '');
});

test('an empty file is an error', () => {
  assert.throws(() => parseDataset('\n\n'), /no items/);
});
