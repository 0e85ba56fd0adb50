import assert from 'node:assert/strict';
import { test } from 'node:test';
import { warmUpRow } from '../accounting/writer-warmup.js';
import { type UsageRow, usageBatchJson } from './usage-rollups.js';

/** A record with every column set, some of them null (the writer's warm-up record). */
function row(overrides: Partial<UsageRow> = {}): UsageRow {
  return { ...warmUpRow('2026-12-06T20:50:00.123Z'), ...overrides };
}

test('null fields are left out of the batch text; false, 0, empty strings and tags stay, in order', () => {
  const rows = [
    row({ output_tokens: 0, client_request_id: '' }),
    row({ request_id: 'r2', api_key_id: 'key_1', cost_usd: null, tags: null }),
  ];
  const text = usageBatchJson(rows);
  assert.doesNotMatch(text, /null/);
  const parsed = JSON.parse(text) as Array<Record<string, unknown>>;
  assert.equal(parsed[0]?.output_tokens, 0);
  assert.equal(parsed[0]?.cached, false);
  assert.equal(parsed[0]?.client_request_id, '');
  assert.deepEqual(parsed[0]?.tags, ['warm-up']);
  assert.equal(parsed[1]?.api_key_id, 'key_1');
  assert.equal('cost_usd' in (parsed[1] ?? {}), false);
  assert.equal('tags' in (parsed[1] ?? {}), false);
  // Every non-null field as it was, in the record's order: the record read back is the record without nulls.
  for (const [i, r] of rows.entries()) {
    const expected = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
    assert.deepEqual(parsed[i], expected);
    assert.deepEqual(Object.keys(parsed[i] ?? {}), Object.keys(expected));
  }
  // The records themselves are not changed.
  assert.equal(rows[0]?.api_key_id, null);
});

test('strings jsonb refuses (NUL, lone surrogates) become U+FFFD; an escaped backslash before u stays', () => {
  const text = usageBatchJson([row({ model: 'a\u0000b\ud800c', user_id: 'x\\u0000y' })]);
  const parsed = JSON.parse(text) as Array<{ model: string; user_id: string }>;
  assert.equal(parsed[0]?.model, 'a\ufffdb\ufffdc');
  assert.equal(parsed[0]?.user_id, 'x\\u0000y');
});
