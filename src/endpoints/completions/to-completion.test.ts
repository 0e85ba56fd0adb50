import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatCompletion, ChatCompletionChunk } from '../../providers/types.js';
import { toChatRequest } from './codec.js';
import { completionId, completionStreamEncoder, toCompletion } from './to-completion.js';

const logprobs = {
  content: [
    {
      token: 'Hel',
      logprob: -0.1,
      bytes: null,
      top_logprobs: [{ token: 'Hel', logprob: -0.1, bytes: null }],
    },
    { token: 'lo', logprob: -0.2, bytes: null, top_logprobs: [{ token: 'lo', logprob: -0.2, bytes: null }] },
  ],
  refusal: null,
};

test('a chat answer becomes a text_completion: text, legacy log probabilities, finish reasons', () => {
  const chat = {
    id: 'chatcmpl-abc',
    object: 'chat.completion',
    created: 1,
    model: 'm',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Hello', refusal: null },
        logprobs,
        finish_reason: 'length',
      },
      {
        index: 1,
        message: { role: 'assistant', content: null, refusal: 'No.' },
        logprobs: null,
        finish_reason: 'tool_calls',
      },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  } as unknown as ChatCompletion;
  assert.deepEqual(toCompletion(chat), {
    id: 'cmpl-abc',
    object: 'text_completion',
    created: 1,
    model: 'm',
    choices: [
      {
        text: 'Hello',
        index: 0,
        logprobs: {
          tokens: ['Hel', 'lo'],
          token_logprobs: [-0.1, -0.2],
          top_logprobs: [{ Hel: -0.1 }, { lo: -0.2 }],
          text_offset: [0, 3],
        },
        finish_reason: 'length',
      },
      { text: 'No.', index: 1, logprobs: null, finish_reason: 'stop' },
    ],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  });
  assert.equal(completionId('cmpl-x'), 'cmpl-x');
  assert.equal(completionId('msg_1'), 'cmpl-msg_1');
});

test('stream: role chunk sends nothing, offsets continue across chunks, usage only when asked', () => {
  const chunk = (choices: unknown[], usage?: unknown) =>
    ({
      id: 'chatcmpl-s',
      object: 'chat.completion.chunk',
      created: 2,
      model: 'm',
      choices,
      usage,
    }) as ChatCompletionChunk;
  const parse = (text: string | null) => (text === null ? null : JSON.parse(text.slice('data: '.length)));
  const encoder = completionStreamEncoder(true);
  assert.equal(
    encoder.chunk(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])),
    null,
  );
  const first = parse(
    encoder.chunk(
      chunk([
        {
          index: 0,
          delta: { content: 'Hel' },
          logprobs: { content: [logprobs.content[0]] },
          finish_reason: null,
        },
      ]),
    ),
  );
  assert.deepEqual(first.choices[0].logprobs.text_offset, [0]);
  const second = parse(
    encoder.chunk(
      chunk([
        {
          index: 0,
          delta: { content: 'lo' },
          logprobs: { content: [logprobs.content[1]] },
          finish_reason: null,
        },
      ]),
    ),
  );
  assert.deepEqual(second.choices[0].logprobs.text_offset, [3]);
  assert.equal(second.id, 'cmpl-s');
  const done = parse(encoder.chunk(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }])));
  assert.deepEqual(done.choices, [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }]);
  const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
  assert.deepEqual(parse(encoder.chunk(chunk([], usage))).usage, usage);
  assert.equal(completionStreamEncoder(false).chunk(chunk([], usage)), null);
  assert.equal(encoder.end(), 'data: [DONE]\n\n');
});

test('the chat request: one user message, default max_tokens 16, logprobs as top_logprobs', () => {
  const chat = toChatRequest({ model: 'm', prompt: 'p', logprobs: 0, best_of: 1, echo: false, suffix: '' });
  assert.deepEqual(chat, {
    model: 'm',
    messages: [{ role: 'user', content: 'p' }],
    max_tokens: 16,
    logprobs: true,
    top_logprobs: 0,
  });
  assert.equal(toChatRequest({ model: 'm', prompt: 'p', n: 3, best_of: 3 }).n, 3);
});
