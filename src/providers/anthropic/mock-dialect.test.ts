import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Message } from '@anthropic-ai/sdk/resources/messages';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Dispatcher } from 'undici';
import { anthropicDialect } from '../../../test/fixtures/mock-upstream/anthropic.js';
import type { MockAnswer } from '../../../test/fixtures/mock-upstream/types.js';
import { sseItems } from '../sse.js';
import type { ChatRequest } from '../types.js';
import { toAnthropicRequest } from './request.js';
import { toChatCompletion } from './response.js';
import { anthropicChunks } from './stream.js';

const ANSWER: MockAnswer = {
  id: 'msg_mock_1',
  model: 'claude-mock',
  text: 'Hello there',
  chunks: ['Hello', ' there'],
  toolCalls: [{ id: 'toolu_1', name: 'lookup', arguments: '{"q":"x"}' }],
  finishReason: 'tool_calls',
  usage: { prompt: 30, completion: 7, cached: 10 },
};

/** Unix seconds for `created`: a fixed time, never today's. */
const CREATED = 1_700_000_000;

const USAGE = {
  prompt_tokens: 30,
  completion_tokens: 7,
  total_tokens: 37,
  prompt_tokens_details: { cached_tokens: 10 },
};

test('mock dialect parses what the adapter sends', () => {
  const req = {
    model: 'alias',
    stream: true,
    messages: [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: 'echo me' }] },
    ],
    tools: [{ type: 'function', function: { name: 'lookup' } }],
  } as ChatRequest;
  const body = JSON.parse(JSON.stringify(toAnthropicRequest(req, 'claude-mock', 100)));
  const parsed = anthropicDialect.parseRequest(body, new URL('http://mock/v1/messages'));
  assert.deepStrictEqual(parsed, {
    model: 'claude-mock',
    stream: true,
    lastUserText: 'echo me',
    toolNames: ['lookup'],
  });
  assert.throws(
    () => anthropicDialect.parseRequest({ model: 'm', messages: [] }, new URL('http://mock')),
    /max_tokens/,
  );
});

test('mock JSON answer translates back to the canned answer', () => {
  const out = toChatCompletion(anthropicDialect.renderJson(ANSWER) as Message, { created: CREATED });
  assert.equal(out.id, 'msg_mock_1');
  assert.equal(out.model, 'claude-mock');
  assert.deepStrictEqual(out.choices[0]?.message.tool_calls, [
    { id: 'toolu_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
  ]);
  assert.equal(out.choices[0]?.message.content, 'Hello there');
  assert.equal(out.choices[0]?.finish_reason, 'tool_calls');
  assert.deepStrictEqual(out.usage, USAGE);
});

test('mock SSE stream translates back to the canned answer', async () => {
  const frames = anthropicDialect.renderStream(ANSWER);
  assert.ok(frames.some((f) => f.startsWith('event: ping\n')));
  assert.ok(frames.at(-1)?.startsWith('event: message_stop\n'));
  const body = Readable.from(frames.map((f) => Buffer.from(f))) as unknown as Dispatcher.ResponseData['body'];
  const chunks: ChatCompletionChunk[] = [];
  const translator = anthropicChunks('mock', { created: CREATED });
  for await (const chunk of sseItems('mock', body, new AbortController().signal, translator))
    chunks.push(chunk);
  const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
  assert.equal(deltas.map((d) => d.content ?? '').join(''), 'Hello there');
  const args = deltas.flatMap((d) => d.tool_calls ?? []).map((t) => t.function?.arguments ?? '');
  assert.equal(args.join(''), '{"q":"x"}');
  assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'tool_calls');
  assert.deepStrictEqual(chunks.at(-1)?.usage, USAGE);
});

test('mock error bodies use Anthropic error types', () => {
  const type = (status: number) =>
    (anthropicDialect.errorBody(status, 'm') as { error: { type: string } }).error.type;
  assert.deepStrictEqual([400, 401, 429, 500, 529].map(type), [
    'invalid_request_error',
    'authentication_error',
    'rate_limit_error',
    'api_error',
    'overloaded_error',
  ]);
  assert.deepStrictEqual(anthropicDialect.errorBody(529, 'Overloaded'), {
    type: 'error',
    error: { type: 'overloaded_error', message: 'Overloaded' },
  });
});

test('mock streams a call without arguments as the real API does, and it translates to "{}"', async () => {
  const answer: MockAnswer = { ...ANSWER, toolCalls: [{ id: 'toolu_2', name: 'now', arguments: '{}' }] };
  const frames = anthropicDialect.renderStream(answer);
  const jsonDeltas = frames.filter((f) => f.includes('"input_json_delta"'));
  assert.equal(jsonDeltas.length, 1);
  assert.ok(jsonDeltas[0]?.includes('"partial_json":""'));
  const body = Readable.from(frames.map((f) => Buffer.from(f))) as unknown as Dispatcher.ResponseData['body'];
  const chunks: ChatCompletionChunk[] = [];
  const translator = anthropicChunks('mock', { created: CREATED });
  for await (const chunk of sseItems('mock', body, new AbortController().signal, translator))
    chunks.push(chunk);
  const calls = chunks.flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
  assert.equal(calls.map((t) => t.function?.arguments ?? '').join(''), '{}');
});
