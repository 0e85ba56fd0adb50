import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../providers/types.js';
import {
  approximateTokens,
  countPromptTokens,
  countTextTokens,
  encodingFor,
  promptTokensUpperBound,
} from './tokens.js';

test('OpenAI models map to their encoding; others are approximated', () => {
  assert.equal(encodingFor('gpt-4o-mini'), 'o200k_base');
  assert.equal(encodingFor('openai/gpt-5'), 'o200k_base');
  assert.equal(encodingFor('o3-mini'), 'o200k_base');
  assert.equal(encodingFor('gpt-4-turbo'), 'cl100k_base');
  assert.equal(encodingFor('gpt-3.5-turbo'), 'cl100k_base');
  assert.equal(encodingFor('claude-3-5-haiku-20241022'), null);
  assert.equal(encodingFor('gemini-2.5-flash'), null);
});

test('gpt-tokenizer counts OpenAI text exactly (known counts)', async () => {
  // "Hello world" is 2 tokens in both cl100k_base and o200k_base.
  assert.equal(await countTextTokens('Hello world', 'gpt-4o'), 2);
  assert.equal(await countTextTokens('Hello world', 'gpt-4'), 2);
  assert.equal(await countTextTokens('', 'gpt-4o'), 0);
});

test('other models: one token per 4 characters, rounded up', async () => {
  assert.equal(approximateTokens('abcdefghi'), 3);
  assert.equal(await countTextTokens('x'.repeat(400), 'claude-3-5-haiku-20241022'), 100);
});

test('prompt tokens add OpenAI chat framing (3 per message + 3)', async () => {
  const body = {
    model: 'gpt-4o',
    messages: [
      { role: 'system', content: 'Hello world' },
      { role: 'user', content: [{ type: 'text', text: 'Hello world' }] },
    ],
  } as ChatRequest;
  const text = await countTextTokens('Hello world\nHello world', 'gpt-4o');
  assert.equal(await countPromptTokens(body, 'gpt-4o'), text + 2 * 3 + 3);
});

// Encoded whole, this text takes minutes (quadratic BPE merging); the timeout is a guard against that.
test('pathological text (one 1 MB word) is counted in bounded work', { timeout: 60_000 }, async () => {
  const tokens = await countTextTokens('x'.repeat(1 << 20), 'gpt-4o');
  // 64 KiB encoded (8 chars per token for a run of x) + the rest at 4 chars per token.
  assert.equal(tokens, 65_536 / 8 + ((1 << 20) - 65_536) / 4);
});

test('segmenting at spaces keeps prose counts exact', async () => {
  const prose = 'The quick brown fox jumps over the lazy dog. '.repeat(200);
  const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
  assert.equal(await countTextTokens(prose, 'gpt-4o'), countTokens(prose));
});

test('the budget bound (UTF-8 bytes + framing) is never below the real count', async () => {
  for (const content of ['Hello world', 'Grüße aus Köln — 東京 🚀', 'x'.repeat(3000), '{"a": [1, 2, 3]}']) {
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content }] } as ChatRequest;
    assert.ok(
      promptTokensUpperBound(body) >= (await countPromptTokens(body, 'gpt-4o')),
      content.slice(0, 20),
    );
  }
});
