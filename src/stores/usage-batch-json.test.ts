import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type UsageRow, usageBatchJson } from './usage-rollups.js';

function row(overrides: Partial<UsageRow> = {}): UsageRow {
  return {
    timestamp: '2026-12-06T20:50:00.123Z',
    request_id: '0193a6f0-7b1c-7cc2-9d3e-000000000001',
    user_id: 'anonymous',
    api_key_id: null,
    model: 'gpt-4o-mini',
    provider: 'openai',
    input_tokens: 12,
    output_tokens: 0,
    cached_input_tokens: 0,
    cost_usd: null,
    cached: false,
    cache_type: null,
    saved_usd: '0.000000',
    latency_ms: 3,
    status: 'success',
    http_status: 200,
    estimated: false,
    stream: false,
    prompt_name: null,
    prompt_version: null,
    guardrails: null,
    client_request_id: '',
    endpoint: 'chat',
    tags: ['a', 'b'],
    ...overrides,
  };
}

test('null fields are left out of the batch text; false, 0, empty strings and tags stay, in order', () => {
  const rows = [row(), row({ request_id: 'r2', api_key_id: 'key_1', cost_usd: '0.000026', tags: null })];
  const text = usageBatchJson(rows);
  assert.doesNotMatch(text, /null/);
  const parsed = JSON.parse(text) as Array<Record<string, unknown>>;
  assert.deepEqual(Object.keys(parsed[0] ?? {}), [
    'timestamp',
    'request_id',
    'user_id',
    'model',
    'provider',
    'input_tokens',
    'output_tokens',
    'cached_input_tokens',
    'cached',
    'saved_usd',
    'latency_ms',
    'status',
    'http_status',
    'estimated',
    'stream',
    'client_request_id',
    'endpoint',
    'tags',
  ]);
  assert.equal(parsed[0]?.output_tokens, 0);
  assert.equal(parsed[0]?.cached, false);
  assert.equal(parsed[0]?.client_request_id, '');
  assert.deepEqual(parsed[0]?.tags, ['a', 'b']);
  assert.equal(parsed[1]?.api_key_id, 'key_1');
  assert.equal(parsed[1]?.cost_usd, '0.000026');
  assert.equal('tags' in (parsed[1] ?? {}), false);
  // Every non-null field as it was: the record read back is the record without its nulls.
  for (const [i, r] of rows.entries()) {
    const expected = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
    assert.deepEqual(parsed[i], expected);
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
