// The mock upstream's Gemini dialect must speak what this adapter speaks: round-trips through both.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Dispatcher } from 'undici';
import { geminiDialect } from '../../../test/fixtures/mock-upstream/gemini.js';
import type { MockAnswer } from '../../../test/fixtures/mock-upstream/types.js';
import { sseItems } from '../sse.js';
import type { ChatCompletionChunk, ChatRequest } from '../types.js';
import { toGeminiRequest } from './request.js';
import { isGeminiResponse, toChatCompletion } from './response.js';
import { geminiChunks } from './stream.js';

/** Unix seconds for `created`: a fixed time, never today's. */
const CREATED = 1_700_000_000;

const answer: MockAnswer = {
  id: 'mock-1',
  model: 'gemini-2.5-flash',
  text: 'Hello there',
  chunks: ['Hel', 'lo', ' there'],
  toolCalls: [{ id: 'call_x', name: 'lookup', arguments: '{"q":"a"}' }],
  finishReason: 'tool_calls',
  usage: { prompt: 10, completion: 5, cached: 4 },
};

test('parseRequest reads what toGeminiRequest writes', () => {
  const body = toGeminiRequest({
    model: 'x',
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: [{ type: 'text', text: 'second' }] },
    ],
    tools: [{ type: 'function', function: { name: 'lookup' } }],
  } as ChatRequest);
  const base = 'http://127.0.0.1/v1beta/models/gemini-2.5-flash';
  assert.deepStrictEqual(geminiDialect.parseRequest(body, new URL(`${base}:streamGenerateContent?alt=sse`)), {
    model: 'gemini-2.5-flash',
    stream: true,
    lastUserText: 'second',
    toolNames: ['lookup'],
  });
  assert.equal(geminiDialect.parseRequest(body, new URL(`${base}:generateContent`)).stream, false);
  assert.throws(() => geminiDialect.parseRequest(body, new URL('http://127.0.0.1/v1/chat/completions')));
  assert.throws(() => geminiDialect.parseRequest({}, new URL(`${base}:generateContent`)));
});

test('renderJson translates back to the answer', () => {
  const json: unknown = JSON.parse(JSON.stringify(geminiDialect.renderJson(answer)));
  assert.ok(isGeminiResponse(json));
  const out = toChatCompletion(json, 'ignored', CREATED);
  assert.equal(out.id, 'mock-1');
  assert.equal(out.model, 'gemini-2.5-flash');
  assert.equal(out.choices[0]?.message.content, 'Hello there');
  const call = out.choices[0]?.message.tool_calls?.[0];
  assert.ok(call?.type === 'function');
  assert.deepStrictEqual(call.function, { name: 'lookup', arguments: '{"q":"a"}' });
  assert.equal(out.choices[0]?.finish_reason, 'tool_calls');
  assert.deepStrictEqual(out.usage, {
    prompt_tokens: 10,
    completion_tokens: 5,
    total_tokens: 15,
    prompt_tokens_details: { cached_tokens: 4 },
  });
  const long = toChatCompletion(
    geminiDialect.renderJson({ ...answer, toolCalls: [], finishReason: 'length' }) as never,
    'm',
    CREATED,
  );
  assert.equal(long.choices[0]?.finish_reason, 'length');
});

test('renderStream translates back to the answer', async () => {
  const raw = geminiDialect.renderStream(answer).join('');
  const body = Readable.from([Buffer.from(raw)]) as unknown as Dispatcher.ResponseData['body'];
  const chunks: ChatCompletionChunk[] = [];
  const translator = geminiChunks({ provider: 'mock', model: 'm', created: CREATED });
  for await (const chunk of sseItems('mock', body, new AbortController().signal, translator))
    chunks.push(chunk);
  const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
  assert.equal(deltas.map((d) => d.content ?? '').join(''), 'Hello there');
  assert.equal(deltas.flatMap((d) => d.tool_calls ?? [])[0]?.function?.name, 'lookup');
  assert.equal(chunks.at(-2)?.choices[0]?.finish_reason, 'tool_calls');
  assert.equal(chunks.at(-1)?.usage?.total_tokens, 15);
});

test('errorBody uses Google status names', () => {
  const statuses = [400, 401, 403, 404, 429, 500, 503].map(
    (s) => (geminiDialect.errorBody(s, 'boom') as { error: { status: string } }).error.status,
  );
  assert.deepStrictEqual(statuses, [
    'INVALID_ARGUMENT',
    'UNAUTHENTICATED',
    'UNAUTHENTICATED',
    'INVALID_ARGUMENT',
    'RESOURCE_EXHAUSTED',
    'INTERNAL',
    'UNAVAILABLE',
  ]);
  assert.deepStrictEqual(geminiDialect.errorBody(429, 'slow down'), {
    error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED' },
  });
});
