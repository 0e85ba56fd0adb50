import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ChatCompletion } from '../types.js';
import { type GeminiResponse, isGeminiResponse, toChatCompletion } from './response.js';

function fixture(name: string): GeminiResponse {
  const json: unknown = JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8'));
  assert.ok(isGeminiResponse(json));
  return json;
}

/** Unix seconds passed as `created` (the adapter takes it from its clock): a fixed time, never today's. */
const CREATED = 1_700_000_000;

/**
 * `created` is the time passed in and tool call ids are random: check their shape, then pin the random part
 * (keeping any `__thought__<signature>` suffix) for deepStrictEqual.
 */
function pinVolatile(completion: ChatCompletion): ChatCompletion {
  assert.equal(completion.created, CREATED, 'created is the time passed in');
  let n = 0;
  for (const choice of completion.choices) {
    for (const call of choice.message.tool_calls ?? []) {
      assert.match(call.id, /^call_[0-9a-f]{24}(__thought__[A-Za-z0-9_-]+)?$/);
      call.id = call.id.replace(/^call_[0-9a-f]{24}/, `call_${n++}`);
    }
  }
  return { ...completion, created: 0 };
}

test('text answer', () => {
  const out = pinVolatile(toChatCompletion(fixture('text.response.json'), 'gemini-2.0-flash-001', CREATED));
  assert.deepStrictEqual(out, {
    id: 'kTjvaOXrFoKcz7IPzNLw6Qo',
    object: 'chat.completion',
    created: 0,
    model: 'gemini-2.0-flash',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The capital of France is Paris.', refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 9,
      completion_tokens: 7,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  });
});

test('function calls: content null, generated ids (with thought signature), finish_reason tool_calls, thinking tokens', () => {
  const out = pinVolatile(
    toChatCompletion(fixture('function-call.response.json'), 'gemini-2.5-flash', CREATED),
  );
  assert.deepStrictEqual(out, {
    id: 'yjnvaNL2Bbe2z7IP_7qS2AQ',
    object: 'chat.completion',
    created: 0,
    model: 'gemini-2.5-flash',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: 'call_0__thought__CiQB0e2Kb7ZxYk3t9p2tq0kQ3b8aA1nQm2l0Zc5yWmQ9oO8Kq1EKYgHR7YpvYt5x',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
            },
            { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 71,
      completion_tokens: 86,
      total_tokens: 157,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 62 },
    },
  });
});

test('two candidates, thought parts skipped, cached and thinking tokens in usage', () => {
  const out = pinVolatile(
    toChatCompletion(fixture('thoughts-cached.response.json'), 'gemini-2.5-pro', CREATED),
  );
  assert.deepStrictEqual(out.choices, [
    {
      index: 0,
      message: { role: 'assistant', content: 'Use a hash map.', refusal: null },
      finish_reason: 'length',
      logprobs: null,
    },
    {
      index: 1,
      message: { role: 'assistant', content: 'A trie.', refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ]);
  assert.deepStrictEqual(out.usage, {
    prompt_tokens: 4210,
    completion_tokens: 139,
    total_tokens: 4349,
    prompt_tokens_details: { cached_tokens: 4096 },
    completion_tokens_details: { reasoning_tokens: 128 },
  });
});

test('prompt blocked: one content_filter choice with null content', () => {
  const out = pinVolatile(toChatCompletion(fixture('blocked.response.json'), 'gemini-2.5-flash', CREATED));
  assert.deepStrictEqual(out.choices, [
    {
      index: 0,
      message: { role: 'assistant', content: null, refusal: null },
      finish_reason: 'content_filter',
      logprobs: null,
    },
  ]);
  assert.deepStrictEqual(out.usage, {
    prompt_tokens: 12,
    completion_tokens: 0,
    total_tokens: 12,
    prompt_tokens_details: { cached_tokens: 0 },
  });
});

test('every finish reason class', () => {
  const cases: Array<[string | undefined, boolean, ChatCompletion.Choice['finish_reason']]> = [
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    [undefined, false, 'stop'],
    ['MAX_TOKENS', false, 'length'],
    ['MAX_TOKENS', true, 'length'],
    ['CONTINUATION', false, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['IMAGE_SAFETY', false, 'content_filter'],
    ['LANGUAGE', false, 'stop'],
    ['OTHER', false, 'stop'],
    ['MALFORMED_FUNCTION_CALL', false, 'stop'],
    ['FINISH_REASON_UNSPECIFIED', false, 'stop'],
  ];
  for (const [reason, withCall, expected] of cases) {
    const parts = withCall ? [{ functionCall: { name: 'f', args: {} } }] : [{ text: 'x' }];
    const res = {
      candidates: [{ content: { role: 'model', parts }, ...(reason ? { finishReason: reason } : {}) }],
    };
    assert.ok(isGeminiResponse(res));
    const out = toChatCompletion(res, 'm', CREATED);
    assert.equal(out.choices[0]?.finish_reason, expected, `${reason} (with call: ${withCall})`);
  }
});

test('fallbacks: generated id, requested model, no usage, index from position, empty candidate', () => {
  const res = { candidates: [{ finishReason: 'SAFETY' }] };
  assert.ok(isGeminiResponse(res));
  const out = toChatCompletion(res, 'gemini-2.5-flash', CREATED);
  assert.match(out.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(out.model, 'gemini-2.5-flash');
  assert.equal('usage' in out, false);
  assert.deepStrictEqual(out.choices, [
    {
      index: 0,
      message: { role: 'assistant', content: null, refusal: null },
      finish_reason: 'content_filter',
      logprobs: null,
    },
  ]);
});

test('isGeminiResponse accepts objects with a candidates array, rejects the rest', () => {
  assert.equal(isGeminiResponse({ candidates: [] }), true);
  assert.equal(isGeminiResponse({ usageMetadata: {} }), true);
  assert.equal(isGeminiResponse(null), false);
  assert.equal(isGeminiResponse([]), false);
  assert.equal(isGeminiResponse('x'), false);
  assert.equal(isGeminiResponse({ candidates: {} }), false);
  assert.equal(isGeminiResponse({ candidates: [null] }), false);
});

test("tool-use prompt tokens count as prompt tokens, so prompt + completion is Gemini's total", () => {
  // totalTokenCount = promptTokenCount + candidatesTokenCount + toolUsePromptTokenCount + thoughtsTokenCount.
  const res = {
    candidates: [{ content: { role: 'model', parts: [{ text: 'x' }] }, finishReason: 'STOP' }],
    usageMetadata: {
      promptTokenCount: 10,
      candidatesTokenCount: 5,
      toolUsePromptTokenCount: 7,
      thoughtsTokenCount: 3,
      totalTokenCount: 25,
    },
  };
  assert.ok(isGeminiResponse(res));
  assert.deepStrictEqual(toChatCompletion(res, 'm', CREATED).usage, {
    prompt_tokens: 17,
    completion_tokens: 8,
    total_tokens: 25,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 3 },
  });
});
