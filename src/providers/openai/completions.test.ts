import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../types.js';
import { chatFromLegacy, legacyChunks, legacyCompletionBody } from './completions.js';

const ask = (extra: Partial<ChatRequest> = {}): ChatRequest =>
  ({ model: 'x', messages: [{ role: 'user', content: 'Say hi' }], ...extra }) as ChatRequest;

test('legacyCompletionBody: only a one-turn text request for a Completions-only model becomes a prompt', () => {
  assert.deepEqual(legacyCompletionBody(ask({ max_tokens: 16, temperature: 0 }), 'davinci-002', false), {
    model: 'davinci-002',
    prompt: 'Say hi',
    max_tokens: 16,
    temperature: 0,
    stream: false,
  });
  assert.equal(legacyCompletionBody(ask(), 'gpt-4o-mini', false), null, 'a chat model');
  const twoTurns = ask({
    messages: [
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'Say hi' },
    ],
  });
  assert.equal(legacyCompletionBody(twoTurns, 'gpt-3.5-turbo-instruct', false), null, 'a conversation');
  const parts = ask({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  assert.equal(legacyCompletionBody(parts, 'gpt-3.5-turbo-instruct', false), null, 'content parts');
  // Chat's names for the same asks: log probabilities, the output limit; streams ask for usage.
  assert.deepEqual(
    legacyCompletionBody(
      ask({
        logprobs: true,
        top_logprobs: 3,
        max_completion_tokens: 40,
        stream_options: { include_usage: false },
      }),
      'gpt-3.5-turbo-instruct',
      true,
    ),
    {
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hi',
      stream: true,
      max_tokens: 40,
      logprobs: 3,
      stream_options: { include_usage: true },
    },
  );
});

test('chatFromLegacy: text, finish reason, usage and the legacy log probabilities as chat ones', () => {
  const chat = chatFromLegacy('openai', {
    id: 'cmpl-1',
    object: 'text_completion',
    created: 5,
    model: 'gpt-3.5-turbo-instruct',
    choices: [
      {
        text: ' Hi',
        index: 0,
        finish_reason: 'length',
        logprobs: { tokens: [' Hi'], token_logprobs: [-0.5], top_logprobs: [{ ' Hi': -0.5, ' Hello': -1 }] },
      },
    ],
    usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
  });
  assert.equal(chat.object, 'chat.completion');
  assert.deepEqual(chat.choices[0]?.message, { role: 'assistant', content: ' Hi', refusal: null });
  assert.equal(chat.choices[0]?.finish_reason, 'length');
  assert.deepEqual(chat.choices[0]?.logprobs?.content?.[0]?.top_logprobs, [
    { token: ' Hi', logprob: -0.5, bytes: null },
    { token: ' Hello', logprob: -1, bytes: null },
  ]);
  assert.equal(chat.usage?.total_tokens, 3);
  assert.throws(() => chatFromLegacy('openai', { error: 'nope' }), /not a text completion/);
});

test('legacyChunks: chat chunks, the role on the first of each choice; cut off only before every choice finished', () => {
  const translator = legacyChunks('openai');
  const out: unknown[] = [];
  const event = (data: string) => translator.event({ data, event: '', id: '' }, out as never[]);
  assert.equal(
    event(JSON.stringify({ id: 'c', choices: [{ text: 'Hi', index: 0, finish_reason: null }] })),
    false,
  );
  event(JSON.stringify({ id: 'c', choices: [{ text: '!', index: 0, finish_reason: 'stop' }] }));
  event(
    JSON.stringify({
      id: 'c',
      choices: [],
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    }),
  );
  assert.equal(event('[DONE]'), true);
  const chunks = out as Array<{ choices: Array<{ delta: object; finish_reason: unknown }>; usage?: object }>;
  assert.deepEqual(chunks[0]?.choices[0]?.delta, { role: 'assistant', content: 'Hi' });
  assert.deepEqual(chunks[1]?.choices[0]?.delta, { content: '!' });
  assert.equal(chunks[1]?.choices[0]?.finish_reason, 'stop');
  assert.deepEqual(chunks[2]?.choices, []);
  assert.ok(chunks[2]?.usage);
  assert.throws(() => legacyChunks('openai').end([]), /closed the stream/);
  // No [DONE] after every choice finished: complete (some servers end so); before that: cut off.
  translator.end([]);
  const cut = legacyChunks('openai');
  cut.event({ data: '{"choices":[{"text":"Hi","index":0,"finish_reason":null}]}', event: '', id: '' }, []);
  assert.throws(() => cut.end([]), /closed the stream/);
  assert.throws(() => event('{"error":{"message":"boom"}}'), /error mid-stream: boom/);
});
