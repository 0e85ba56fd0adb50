import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pageOf } from './store.js';

const items = ['a', 'b', 'c'].map((id) => ({ id, item: { type: 'message', role: 'user', content: id } }));

test('pageOf: ids of the first and last item on the page, has_more, order', () => {
  const page = pageOf(items, { limit: 2, order: 'asc' });
  assert.deepEqual(
    page.data.map((i) => i.id),
    ['a', 'b'],
  );
  assert.equal(page.first_id, 'a');
  assert.equal(page.last_id, 'b');
  assert.equal(page.has_more, true);
  const desc = pageOf(items, { limit: 20, order: 'desc', after: 'c' });
  assert.deepEqual([desc.first_id, desc.last_id, desc.has_more], ['b', 'a', false]);
});

test('pageOf: an empty page has first_id and last_id "", strings as the OpenAPI document requires (decision 0212)', () => {
  for (const options of [
    { limit: 20, order: 'asc' as const, after: 'c' },
    { limit: 20, order: 'desc' as const, after: 'missing' },
  ]) {
    assert.deepStrictEqual(pageOf(items, options), {
      object: 'list',
      data: [],
      first_id: '',
      last_id: '',
      has_more: false,
    });
  }
  assert.deepStrictEqual(pageOf([], { limit: 20, order: 'desc' }).first_id, '');
});
