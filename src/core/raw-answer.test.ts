import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepRawAnswer, rawAnswerText } from './raw-answer.js';
import { extend } from './shapes.js';

const TEXT = '{"id":"chatcmpl-1","object":"chat.completion","choices":[]}';

test('the parsed answer itself gives back its text; nothing else does', () => {
  const answer = JSON.parse(TEXT) as Record<string, unknown>;
  keepRawAnswer(answer, TEXT);
  assert.equal(rawAnswerText(answer), TEXT);
  assert.equal(rawAnswerText(JSON.parse(TEXT)), undefined, 'another object with the same content');
  assert.equal(rawAnswerText(null), undefined);
  assert.equal(rawAnswerText('text'), undefined);
});

test('a copy or a changed version never carries the original text', () => {
  const answer = JSON.parse(TEXT) as Record<string, unknown>;
  keepRawAnswer(answer, TEXT);
  assert.equal(rawAnswerText({ ...answer, id: 'changed' }), undefined, 'spread');
  assert.equal(rawAnswerText(Object.assign({}, answer)), undefined, 'Object.assign');
  assert.equal(rawAnswerText(extend(answer, { model: 'x' })), undefined, 'extend');
  assert.equal(rawAnswerText(structuredClone(answer)), undefined, 'structuredClone');
  assert.equal(rawAnswerText(Object.create(answer)), undefined, 'an object inheriting from it');
});

test('the text is invisible to JSON, keys and deep equality', () => {
  const answer = JSON.parse(TEXT) as Record<string, unknown>;
  keepRawAnswer(answer, TEXT);
  assert.equal(JSON.stringify(answer), TEXT);
  assert.deepEqual(Object.keys(answer), ['id', 'object', 'choices']);
  assert.deepStrictEqual(answer, JSON.parse(TEXT));
});
