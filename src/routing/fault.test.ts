import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Agent } from 'undici';
import type { CanonicalRequest } from '../core/context.js';
import { createAnthropicAdapter } from '../providers/anthropic/adapter.js';
import { createGeminiAdapter } from '../providers/gemini/adapter.js';
import { createOpenAIAdapter } from '../providers/openai/adapter.js';
import type { ChatRequest, ProviderSettings, ProviderType } from '../providers/types.js';
import { expectedOutputMs } from './fault.js';

/** Never used to send anything: the adapters are only asked what they would send. */
const dispatcher = new Agent();

function deployment(type: ProviderType, model: string) {
  const settings: ProviderSettings = {
    name: type,
    type,
    baseUrl: 'http://127.0.0.1:9',
    apiKey: 'test-key-0123456789',
    apiKeyEnv: 'TEST_KEY',
    headers: {},
    defaultMaxTokens: 4096,
  };
  const create = { anthropic: createAnthropicAdapter, gemini: createGeminiAdapter }[type as string];
  const adapter = (create ?? createOpenAIAdapter)(settings, { dispatcher });
  return { adapter, model };
}

const chat = (body: Partial<ChatRequest>, stream = false): CanonicalRequest => ({
  kind: 'chat',
  model: 'm',
  stream,
  body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], ...body } as ChatRequest,
});

describe('expectedOutputMs: the output limit the upstream works to', () => {
  const claude = deployment('anthropic', 'claude-haiku-4-5');
  const gemini = deployment('gemini', 'gemini-2.5-flash');
  const gpt = deployment('openai', 'o4-mini');

  test('Anthropic: the thinking budget added to max_tokens counts', () => {
    assert.equal(
      expectedOutputMs(chat({ max_tokens: 100, reasoning_effort: 'high' }), 20, claude),
      24_676 * 20,
    );
    // No client limit: the budget alone (the gateway asked for that much thinking).
    assert.equal(expectedOutputMs(chat({ reasoning_effort: 'minimal' }), 20, claude), 1024 * 20);
    assert.equal(expectedOutputMs(chat({ max_tokens: 100 }), 20, claude), 100 * 20);
    assert.equal(expectedOutputMs(chat({}), 20, claude), 0, 'no limit, no thinking: ordinary');
  });

  test('Anthropic: no budget counts when the translation turns thinking off (a forced tool)', () => {
    const forced = chat({
      max_tokens: 100,
      reasoning_effort: 'high',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    });
    assert.equal(expectedOutputMs(forced, 20, claude), 100 * 20);
  });

  test('Gemini: the thinking budget counts; OpenAI: reasoning is inside max_completion_tokens', () => {
    assert.equal(
      expectedOutputMs(chat({ max_completion_tokens: 100, reasoning_effort: 'low' }), 20, gemini),
      2148 * 20,
    );
    assert.equal(
      expectedOutputMs(chat({ max_completion_tokens: 100, reasoning_effort: 'high' }), 20, gpt),
      100 * 20,
    );
  });

  test('streams and a zero rate are never oversized', () => {
    assert.equal(expectedOutputMs(chat({ max_tokens: 100, reasoning_effort: 'high' }, true), 20, claude), 0);
    assert.equal(expectedOutputMs(chat({ max_tokens: 100, reasoning_effort: 'high' }), 0, claude), 0);
  });
});
