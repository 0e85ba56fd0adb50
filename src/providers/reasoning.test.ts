import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toAnthropicRequest } from './anthropic/request.js';
import { toGeminiRequest } from './gemini/request.js';
import { REASONING_EFFORTS, thinkingBudget } from './reasoning.js';
import type { ChatRequest } from './types.js';

const ask = (fields: Partial<ChatRequest>): ChatRequest =>
  ({ model: 'm', messages: [{ role: 'user', content: 'Think' }], ...fields }) as ChatRequest;

test('efforts map to one budget table; none is 0; no effort is undefined', () => {
  assert.deepEqual(
    ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max'].map(thinkingBudget),
    [0, 1024, 2048, 8192, 24_576, 32_768, 65_536],
  );
  assert.equal(thinkingBudget(undefined), undefined);
  assert.equal(thinkingBudget('bogus'), undefined);
  // Not a key of the table's prototype either.
  assert.equal(thinkingBudget('constructor'), undefined);
});

test('every effort the request schemas accept has a budget (a translated provider never ignores one)', () => {
  for (const effort of REASONING_EFFORTS) {
    assert.equal(typeof thinkingBudget(effort), 'number', effort);
  }
});

test('max: the most the model takes (Anthropic output limit, Gemini 2.5 range)', () => {
  const opus = toAnthropicRequest(
    ask({ reasoning_effort: 'max' as never }),
    'claude-opus-4-1-20250805',
    4096,
  );
  assert.equal(opus.max_tokens, 32_000);
  assert.deepEqual(opus.thinking, { type: 'enabled', budget_tokens: 27_904 });
  const budget = (model: string) =>
    toGeminiRequest(ask({ reasoning_effort: 'max' as never }), model).generationConfig?.thinkingConfig;
  assert.deepEqual(budget('gemini-2.5-pro'), { thinkingBudget: 32_768 });
  assert.deepEqual(budget('gemini-2.5-flash'), { thinkingBudget: 24_576 });
  assert.deepEqual(budget('gemini-3-pro-preview'), { thinkingLevel: 'high' });
});

test('anthropic: reasoning_effort enables thinking with max_tokens raised by the budget', () => {
  const body = toAnthropicRequest(
    ask({ reasoning_effort: 'medium', max_completion_tokens: 1000, temperature: 0.2, top_p: 0.5 }),
    'claude-sonnet-4-5',
    4096,
  );
  assert.deepEqual(body.thinking, { type: 'enabled', budget_tokens: 8192 });
  assert.equal(body.max_tokens, 9192);
  // Anthropic refuses a changed temperature with thinking, and top_p under 0.95.
  assert.equal(body.temperature, undefined);
  assert.equal(body.top_p, 0.95);
});

test('anthropic: no thinking without an effort, for none, or when a tool is forced', () => {
  assert.equal(toAnthropicRequest(ask({}), 'c', 4096).thinking, undefined);
  assert.equal(toAnthropicRequest(ask({ reasoning_effort: 'none' as never }), 'c', 4096).thinking, undefined);
  const forced = toAnthropicRequest(
    ask({
      reasoning_effort: 'high',
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    }),
    'c',
    4096,
  );
  assert.equal(forced.thinking, undefined);
  assert.equal(forced.max_tokens, 4096);
});

test('gemini 2.5: thinkingBudget from the table (0 turns thinking off)', () => {
  const high = toGeminiRequest(ask({ reasoning_effort: 'high' }), 'gemini-2.5-flash');
  assert.deepEqual(high.generationConfig?.thinkingConfig, { thinkingBudget: 24_576 });
  const none = toGeminiRequest(
    ask({ reasoning_effort: 'none' as never, temperature: 0 }),
    'gemini-2.5-flash',
  );
  assert.deepEqual(none.generationConfig, { temperature: 0, thinkingConfig: { thinkingBudget: 0 } });
  assert.equal(toGeminiRequest(ask({}), 'gemini-2.5-flash').generationConfig, undefined);
});

test('gemini: the output limit is for the answer; the thinking budget is added to maxOutputTokens', () => {
  const body = toGeminiRequest(
    ask({ reasoning_effort: 'low', max_completion_tokens: 100 }),
    'gemini-2.5-flash',
  );
  // Gemini counts thinking against maxOutputTokens: 100 alone could be spent on thinking, leaving no text.
  assert.equal(body.generationConfig?.maxOutputTokens, 2148);
  const off = toGeminiRequest(
    ask({ reasoning_effort: 'none' as never, max_tokens: 100 }),
    'gemini-2.5-flash',
  );
  assert.equal(off.generationConfig?.maxOutputTokens, 100);
  const three = toGeminiRequest(ask({ reasoning_effort: 'high', max_tokens: 100 }), 'gemini-3-pro-preview');
  assert.equal(three.generationConfig?.maxOutputTokens, 24_676);
});

test('gemini 3: thinkingLevel (low up to low effort, high above), decided by the upstream model', () => {
  const low = toGeminiRequest(ask({ reasoning_effort: 'low' }), 'gemini-3-pro-preview');
  assert.deepEqual(low.generationConfig?.thinkingConfig, { thinkingLevel: 'low' });
  const high = toGeminiRequest(ask({ reasoning_effort: 'medium' }), 'gemini-3-pro-preview');
  assert.deepEqual(high.generationConfig?.thinkingConfig, { thinkingLevel: 'high' });
});

test('anthropic: no thinking while a tool loop is open (the last assistant turn has tool calls)', () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
  const call = { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
  const loop = ask({
    reasoning_effort: 'low',
    max_completion_tokens: 1000,
    tools,
    messages: [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
    ],
  } as Partial<ChatRequest>);
  const body = toAnthropicRequest(loop, 'claude-sonnet-4-5', 4096);
  // Anthropic answers 400 to thinking with a final assistant tool_use that has no thinking block before it.
  assert.equal(body.thinking, undefined);
  assert.equal(body.max_tokens, 1000);
  // Once the model answered the tool result, the loop is closed and the next turn thinks again.
  const closed = {
    ...loop,
    messages: [
      ...loop.messages,
      { role: 'assistant', content: 'Sunny.' },
      { role: 'user', content: 'And tomorrow?' },
    ],
  };
  assert.deepEqual(toAnthropicRequest(closed as ChatRequest, 'claude-sonnet-4-5', 4096).thinking, {
    type: 'enabled',
    budget_tokens: 2048,
  });
});

test("anthropic: near the model's output limit the budget gives way and max_tokens is capped", () => {
  const full = toAnthropicRequest(
    ask({ reasoning_effort: 'high', max_completion_tokens: 64_000 }),
    'claude-sonnet-4-5',
    4096,
  );
  assert.equal(full.max_tokens, 64_000);
  assert.deepEqual(full.thinking, { type: 'enabled', budget_tokens: 1024 });
  const opus = toAnthropicRequest(ask({ reasoning_effort: 'xhigh' }), 'claude-opus-4-1-20250805', 4096);
  assert.equal(opus.max_tokens, 32_000);
  assert.deepEqual(opus.thinking, { type: 'enabled', budget_tokens: 27_904 });
  assert.equal(
    toAnthropicRequest(ask({ reasoning_effort: 'xhigh' }), 'claude-opus-4@20250514', 4096).max_tokens,
    32_000,
  );
  // A newer model of a known family is not guessed at: no cap.
  assert.equal(
    toAnthropicRequest(ask({ reasoning_effort: 'xhigh' }), 'claude-opus-4-7', 4096).max_tokens,
    36_864,
  );
  // Within the limit nothing moves; a model without a known limit is not capped.
  assert.equal(
    toAnthropicRequest(ask({ reasoning_effort: 'high' }), 'claude-opus-4-5', 4096).max_tokens,
    28_672,
  );
  assert.equal(
    toAnthropicRequest(ask({ reasoning_effort: 'xhigh' }), 'claude-next', 64_000).max_tokens,
    96_768,
  );
});

test("gemini 2.5: budgets are moved into the model's range (Pro cannot turn thinking off)", () => {
  const budget = (model: string, effort: string) =>
    toGeminiRequest(ask({ reasoning_effort: effort as never }), model).generationConfig?.thinkingConfig;
  assert.deepEqual(budget('gemini-2.5-pro', 'none'), { thinkingBudget: 128 });
  assert.deepEqual(budget('gemini-2.5-pro', 'xhigh'), { thinkingBudget: 32_768 });
  assert.deepEqual(budget('gemini-2.5-flash', 'xhigh'), { thinkingBudget: 24_576 });
  assert.deepEqual(budget('gemini-2.5-flash-lite', 'xhigh'), { thinkingBudget: 24_576 });
  assert.deepEqual(budget('gemini-2.5-flash-lite', 'none'), { thinkingBudget: 0 });
  assert.deepEqual(budget('gemini-2.5-flash', 'none'), { thinkingBudget: 0 });
});
