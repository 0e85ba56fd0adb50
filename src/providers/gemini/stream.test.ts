import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../../core/errors.js';
import { sseItems } from '../sse.js';
import type { ChatCompletionChunk } from '../types.js';
import { geminiChunks } from './stream.js';

/** `created` is passed in (the adapter takes it from its clock): a fixed time, never today's. */
const CREATED = 1_700_000_000;
const ctx = { provider: 'gemini', model: 'gemini-2.5-flash', created: CREATED };

/** A raw SSE body read as the adapter reads it, in 13-byte slices, so events straddle network reads. */
function translated(raw: string) {
  const bytes = Buffer.from(raw);
  const slices: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 13) slices.push(bytes.subarray(i, i + 13));
  const body = Readable.from(slices) as unknown as Dispatcher.ResponseData['body'];
  return sseItems('gemini', body, new AbortController().signal, geminiChunks(ctx));
}

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

async function collect(raw: string): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of translated(raw)) chunks.push(chunk);
  return chunks;
}

/**
 * Checks the shared header and random tool call ids, then strips the header and pins the ids' random part
 * (keeping any `__thought__<signature>` suffix) so sequences compare exactly.
 */
function pinVolatile(chunks: ChatCompletionChunk[], id: string, model: string) {
  let n = 0;
  return chunks.map((chunk) => {
    assert.equal(chunk.id, id);
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.created, CREATED);
    assert.equal(chunk.model, model);
    for (const call of chunk.choices.flatMap((c) => c.delta.tool_calls ?? [])) {
      assert.match(call.id ?? '', /^call_[0-9a-f]{24}(__thought__[A-Za-z0-9_-]+)?$/);
      call.id = call.id?.replace(/^call_[0-9a-f]{24}/, `call_${n++}`);
    }
    const { id: _id, object: _object, created: _created, model: _model, ...rest } = chunk;
    return rest;
  });
}

test('text stream → role chunk, content deltas, finish, final usage chunk', async () => {
  const chunks = await collect(fixture('text.chunks.txt'));
  assert.deepStrictEqual(pinVolatile(chunks, 'iUDvaO6eEfCtz7IPvNu_iQs', 'gemini-2.5-flash'), [
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: 'Roses are red,' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: ' violets are blue,' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: ' gateways stream\nand so do you.' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    {
      choices: [],
      usage: {
        prompt_tokens: 6,
        completion_tokens: 305,
        total_tokens: 311,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 288 },
      },
    },
  ]);
});

test('CRLF-framed events (as the real API sends them) translate the same', async () => {
  const lf = await collect(fixture('text.chunks.txt'));
  const crlf = await collect(fixture('text.chunks.txt').replaceAll('\n\n', '\r\n\r\n'));
  assert.deepStrictEqual(
    pinVolatile(crlf, lf[0]?.id ?? '', 'gemini-2.5-flash'),
    pinVolatile(lf, lf[0]?.id ?? '', 'gemini-2.5-flash'),
  );
});

test('function-call stream → complete tool_calls deltas indexed per candidate, signature in the id, finish tool_calls', async () => {
  const chunks = await collect(fixture('function-call.chunks.txt'));
  assert.deepStrictEqual(pinVolatile(chunks, 'BkHvaPzDMf6Zz7IP3sXp-Qw', 'gemini-2.5-flash'), [
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: 'Checking both cities.' }, finish_reason: null }] },
    {
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 0,
                id: 'call_0__thought__CiQB0e2Kb2Uq0kQ3b8aA1nQm2l0Zc5yWmQ9oO8Kq1EKYgHR7YpvYt5x',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    },
    {
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: 1,
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    },
    { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
    {
      choices: [],
      usage: {
        prompt_tokens: 83,
        completion_tokens: 118,
        total_tokens: 201,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 82 },
      },
    },
  ]);
});

test('prompt blocked in a stream → content_filter finish, then usage', async () => {
  const chunks = await collect(fixture('blocked.chunks.txt'));
  assert.deepStrictEqual(pinVolatile(chunks, 'u0HvaPGBMdKZz7IPh6q4mQk', 'gemini-2.5-flash'), [
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'content_filter' }] },
    {
      choices: [],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 0,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    },
  ]);
});

test('two candidates: thoughts skipped, each candidate gets its own role chunk and finish', async () => {
  const event = (candidates: unknown[]) => `data: ${JSON.stringify({ candidates })}\n\n`;
  const raw =
    event([
      { content: { parts: [{ text: 'hmm', thought: true }, { text: 'A' }] }, index: 0 },
      { content: { parts: [{ text: 'B' }] }, index: 1 },
    ]) +
    event([
      { content: { parts: [{ text: 'a' }] }, finishReason: 'MAX_TOKENS', index: 0 },
      { content: { parts: [] }, finishReason: 'SAFETY', index: 1 },
    ]);
  const chunks = await collect(raw);
  assert.match(chunks[0]?.id ?? '', /^chatcmpl-/);
  assert.deepStrictEqual(pinVolatile(chunks, chunks[0]?.id ?? '', 'gemini-2.5-flash'), [
    { choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: 'A' }, finish_reason: null }] },
    { choices: [{ index: 1, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
    { choices: [{ index: 1, delta: { content: 'B' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] },
    { choices: [{ index: 0, delta: {}, finish_reason: 'length' }] },
    { choices: [{ index: 1, delta: {}, finish_reason: 'content_filter' }] },
  ]);
});

test('an error event throws ProviderUnavailableError with the upstream message, after the text so far', async () => {
  const seen: ChatCompletionChunk[] = [];
  await assert.rejects(
    async () => {
      for await (const chunk of translated(fixture('error.chunks.txt'))) seen.push(chunk);
    },
    (err: unknown) => {
      assert.ok(err instanceof ProviderUnavailableError);
      assert.match(err.message, /^gemini reported an error mid-stream: An internal error has occurred\./);
      assert.equal(err.isRetryable, true);
      return true;
    },
  );
  assert.equal(seen.length, 2);
});

test('a stream that ends without a finishReason is cut off', async () => {
  await assert.rejects(collect(fixture('cut-off.chunks.txt')), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /closed the stream before the answer was complete/);
    return true;
  });
  await assert.rejects(collect(''), ProviderUnavailableError);
});

test('with two candidates, the stream is complete only once both finished', async () => {
  const event = (candidates: unknown[]) => `data: ${JSON.stringify({ candidates })}\n\n`;
  const first = event([
    { content: { parts: [{ text: 'A' }] }, finishReason: 'STOP', index: 0 },
    { content: { parts: [{ text: 'B' }] }, index: 1 },
  ]);
  await assert.rejects(collect(first), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /closed the stream before the answer was complete/);
    return true;
  });
  const chunks = await collect(
    first + event([{ content: { parts: [{ text: 'b' }] }, finishReason: 'STOP', index: 1 }]),
  );
  assert.deepStrictEqual(
    chunks.flatMap((c) => c.choices.map((ch) => [ch.index, ch.finish_reason])).filter(([, f]) => f !== null),
    [
      [0, 'stop'],
      [1, 'stop'],
    ],
  );
});

test('malformed events are provider failures', async () => {
  await assert.rejects(collect('data: {not json\n\n'), ProviderUnavailableError);
  await assert.rejects(collect('data: {"candidates": {"0": {}}}\n\n'), ProviderUnavailableError);
});
