import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { MAX_TAGS, requestTags } from './tags.js';

test('body tags (array or comma-separated) and the header are merged, trimmed and de-duplicated', () => {
  assert.deepEqual(requestTags(['a', ' b '], 'b, c,,d'), ['a', 'b', 'c', 'd']);
  assert.deepEqual(requestTags('x, y', undefined), ['x', 'y']);
  assert.deepEqual(requestTags(undefined, ['h1', 'h2,h3']), ['h1', 'h2', 'h3']);
  assert.deepEqual(requestTags(null, undefined), []);
  assert.deepEqual(requestTags(['équipe-1', 'env:prod', 'a/b@c+d=e_f.g'], undefined), [
    'équipe-1',
    'env:prod',
    'a/b@c+d=e_f.g',
  ]);
});

test('bounds: count, length, characters and types, each a 422 naming the source', () => {
  const many = Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`);
  assert.equal(requestTags(many, 't0').length, MAX_TAGS, 'duplicates do not count');
  for (const [body, header, param] of [
    [[...many, 'one-more'], undefined, 'metadata.tags'],
    [many, 'one-more', 'X-Gateway-Tags'],
    [['x'.repeat(65)], undefined, 'metadata.tags'],
    [undefined, 'ok,with space', 'X-Gateway-Tags'],
    [['semi;colon'], undefined, 'metadata.tags'],
    [[''], undefined, 'metadata.tags'],
    [[3], undefined, 'metadata.tags[0]'],
    [{ a: 1 }, undefined, 'metadata.tags'],
  ] as const) {
    assert.throws(
      () => requestTags(body, header),
      (err: unknown) => err instanceof ValidationError && err.status === 422 && err.param === param,
      JSON.stringify([body, header]),
    );
  }
});
