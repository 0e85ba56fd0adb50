import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Usage } from '../../providers/types.js';
import { responseUsage } from './response.js';

test('responseUsage: cache reads and writes from the canonical prompt_tokens_details', () => {
  // The canonical usage of an Anthropic answer with input 50, cache write 10, cache read 30 (mapping.ts).
  const usage = {
    prompt_tokens: 90,
    completion_tokens: 5,
    total_tokens: 95,
    prompt_tokens_details: { cached_tokens: 30, cache_creation_tokens: 10 },
    completion_tokens_details: { reasoning_tokens: 2 },
  } as Usage;
  assert.deepStrictEqual(responseUsage(usage), {
    input_tokens: 90,
    input_tokens_details: { cached_tokens: 30, cache_write_tokens: 10 },
    output_tokens: 5,
    output_tokens_details: { reasoning_tokens: 2 },
    total_tokens: 95,
  });
});

test('responseUsage: no details are zeros; no usage is null', () => {
  assert.deepStrictEqual(responseUsage({ prompt_tokens: 3, completion_tokens: 4 } as Usage), {
    input_tokens: 3,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: 4,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: 7,
  });
  assert.equal(responseUsage(null), null);
});
