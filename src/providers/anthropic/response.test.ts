import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import { toChatCompletion } from './response.js';

const CREATED = 1_700_000_000;

function fixture(name: string): Message {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8')) as Message;
}

test('text response: text blocks joined, thinking dropped, usage mapped', () => {
  assert.deepStrictEqual(toChatCompletion(fixture('response-text.json'), { created: CREATED }), {
    id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
    object: 'chat.completion',
    created: CREATED,
    model: 'claude-sonnet-4-5-20250929',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hi! My name is Claude. How can I help?', refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 2095,
      completion_tokens: 503,
      total_tokens: 2598,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  });
});

test('tool_use response: tool_calls with JSON arguments, cache tokens counted as prompt', () => {
  assert.deepStrictEqual(toChatCompletion(fixture('response-tool-use.json'), { created: CREATED }), {
    id: 'msg_01Aq9w938a90dw8q',
    object: 'chat.completion',
    created: CREATED,
    model: 'claude-sonnet-4-5-20250929',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: "I'll check the weather.",
          refusal: null,
          tool_calls: [
            {
              id: 'toolu_01A09q90qw90lq917835lq9',
              type: 'function',
              function: {
                name: 'get_weather',
                arguments: '{"location":"San Francisco, CA","unit":"celsius"}',
              },
            },
            {
              id: 'toolu_01B8dw6e2mDqJDLvPNkrb3fP',
              type: 'function',
              function: { name: 'get_time', arguments: '{}' },
            },
          ],
        },
        finish_reason: 'tool_calls',
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: 1620,
      completion_tokens: 57,
      total_tokens: 1677,
      prompt_tokens_details: { cached_tokens: 1500, cache_creation_tokens: 20 },
    },
  });
});

test('content is null when there are only tool calls', () => {
  const msg = fixture('response-tool-use.json');
  msg.content = msg.content.filter((b) => b.type === 'tool_use');
  const choice = toChatCompletion(msg, { created: CREATED }).choices[0];
  assert.equal(choice?.message.content, null);
  assert.equal(choice?.message.tool_calls?.length, 2);
});

test('every stop_reason maps to its finish_reason', () => {
  const cases = [
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['refusal', 'content_filter'],
    ['tool_use', 'tool_calls'],
    [null, 'stop'],
  ] as const;
  for (const [stopReason, finish] of cases) {
    const msg = { ...fixture('response-tool-use.json'), stop_reason: stopReason };
    assert.equal(
      toChatCompletion(msg, { created: CREATED }).choices[0]?.finish_reason,
      finish,
      String(stopReason),
    );
  }
});

test('created is the time passed in (the adapter takes it from its clock)', () => {
  assert.equal(toChatCompletion(fixture('response-text.json'), { created: 1_234 }).created, 1_234);
});

test('json_schema answer tool becomes content with finish_reason stop', () => {
  const msg: Message = {
    ...fixture('response-text.json'),
    content: [{ type: 'tool_use', id: 'toolu_1', name: 'person', input: { name: 'Ada', age: 36 } }],
    stop_reason: 'tool_use',
  };
  const choice = toChatCompletion(msg, { jsonTool: 'person', created: CREATED }).choices[0];
  assert.deepStrictEqual(choice?.message, {
    role: 'assistant',
    content: '{"name":"Ada","age":36}',
    refusal: null,
  });
  assert.equal(choice?.finish_reason, 'stop');
});
