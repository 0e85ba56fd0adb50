import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../../core/errors.js';
import { partialUsageOf } from '../../core/partial-usage.js';
import { type EventSourceMessage, readSse } from '../sse.js';
import type { TranslateOptions } from './response.js';
import { toChunkStream } from './stream.js';

const CREATED = 1_700_000_000;

/** A recorded stream fed through the real SSE reader in small, unaligned pieces. */
function recorded(name: string, pieceSize = 13): AsyncIterable<EventSourceMessage> {
  const bytes = readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url));
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += pieceSize) pieces.push(bytes.subarray(i, i + pieceSize));
  const body = Readable.from(pieces) as unknown as Dispatcher.ResponseData['body'];
  return readSse('anthropic', body, new AbortController().signal);
}

async function* events(...data: unknown[]): AsyncGenerator<EventSourceMessage> {
  for (const d of data) yield { event: (d as { type: string }).type, data: JSON.stringify(d), id: undefined };
}

async function collect(
  source: AsyncIterable<EventSourceMessage>,
  options: Partial<TranslateOptions> = {},
): Promise<ChatCompletionChunk[]> {
  const out: ChatCompletionChunk[] = [];
  for await (const chunk of toChunkStream('anthropic', source, { created: CREATED, ...options }))
    out.push(chunk);
  return out;
}

/** Collects until the stream throws; returns what was yielded and the error. */
async function collectUntilError(
  source: AsyncIterable<EventSourceMessage>,
): Promise<[ChatCompletionChunk[], unknown]> {
  const out: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of toChunkStream('anthropic', source, { created: CREATED })) out.push(chunk);
  } catch (err) {
    return [out, err];
  }
  assert.fail('the stream should have thrown');
}

function chunkMaker(id: string, model: string) {
  const base = { id, object: 'chat.completion.chunk' as const, created: CREATED, model };
  return {
    delta: (
      delta: ChatCompletionChunk.Choice.Delta,
      finish: ChatCompletionChunk.Choice['finish_reason'] = null,
    ) => ({
      ...base,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    }),
    usage: (prompt: number, completion: number, cached: number, written = 0) => ({
      ...base,
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details:
          written > 0 ? { cached_tokens: cached, cache_creation_tokens: written } : { cached_tokens: cached },
      },
    }),
  };
}

test('text stream: role chunk, content deltas, finish chunk, usage chunk; pings ignored', async () => {
  const c = chunkMaker('msg_01XFDUDYJgAACzvnptvVoYEL', 'claude-sonnet-4-5-20250929');
  assert.deepStrictEqual(await collect(recorded('stream-text.chunks.txt')), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({ content: 'Hello' }),
    c.delta({ content: ', world!' }),
    c.delta({}, 'stop'),
    c.usage(25, 15, 0),
  ]);
});

test('tool_use stream: tool indexes count tool blocks, thinking ignored, cache tokens in usage', async () => {
  const c = chunkMaker('msg_014p7gG3wDgGV9EUtLvnow3U', 'claude-sonnet-4-5-20250929');
  const start = (index: number, id: string, name: string) =>
    c.delta({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: '' } }] });
  const args = (index: number, text: string) =>
    c.delta({ tool_calls: [{ index, function: { arguments: text } }] });
  assert.deepStrictEqual(await collect(recorded('stream-tool-use.chunks.txt')), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({ content: 'Let me check.' }),
    start(0, 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', 'get_weather'),
    args(0, '{"location":'),
    args(0, ' "Paris"}'),
    start(1, 'toolu_01QmvWGD2Yyvsc8fv3A2zBSE', 'get_time'),
    args(1, '{"tz": "Europe/Paris"}'),
    c.delta({}, 'tool_calls'),
    c.usage(2572, 89, 2000, 100),
  ]);
});

test('json_schema stream: the answer tool input streams as content, finish_reason stop', async () => {
  const c = chunkMaker('msg_01JsonSchemaStream', 'claude-haiku-4-5');
  assert.deepStrictEqual(await collect(recorded('stream-json-schema.chunks.txt'), { jsonTool: 'person' }), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({ content: '{"name": "Ada"' }),
    c.delta({ content: ', "age": 36}' }),
    c.delta({}, 'stop'),
    c.usage(50, 20, 0),
  ]);
});

test('error event mid-stream throws ProviderUnavailableError with the upstream message', async () => {
  const [chunks, err] = await collectUntilError(recorded('stream-error.chunks.txt'));
  assert.equal(chunks.length, 2);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.equal(err.provider, 'anthropic');
  assert.equal(err.message, 'anthropic failed mid-stream (overloaded_error): Overloaded');
  assert.equal(err.isRetryable, true);
  // As Anthropic's HTTP 529: the Messages endpoint names it overloaded_error, not api_error.
  assert.equal(err.upstreamStatus, 529);
});

test('a stream that ends without message_stop throws the cut-off error', async () => {
  const [chunks, err] = await collectUntilError(recorded('stream-cut-off.chunks.txt'));
  assert.equal(chunks.length, 2);
  assert.ok(err instanceof ProviderUnavailableError);
  assert.match(err.message, /closed the stream before the answer was complete/);
});

test('malformed events are provider failures, not crashes', async () => {
  const notJson = (async function* () {
    yield { event: 'message_start', data: '{oops', id: undefined };
  })();
  const [, err1] = await collectUntilError(notJson);
  assert.ok(err1 instanceof ProviderUnavailableError);
  const beforeStart = events({
    type: 'content_block_delta',
    index: 0,
    delta: { type: 'text_delta', text: 'x' },
  });
  const [, err2] = await collectUntilError(beforeStart);
  assert.ok(err2 instanceof ProviderUnavailableError);
  const [, err3] = await collectUntilError(events({ type: 'message_start' }));
  assert.ok(err3 instanceof ProviderUnavailableError);
});

test('message_delta usage supersedes message_start counts; missing message_delta still finishes', async () => {
  const message = { id: 'msg_x', model: 'm', content: [], usage: { input_tokens: 5, output_tokens: 1 } };
  const c = chunkMaker('msg_x', 'm');
  const withDelta = events(
    { type: 'message_start', message },
    {
      type: 'message_delta',
      delta: { stop_reason: 'max_tokens', stop_sequence: null },
      usage: { input_tokens: 7, cache_read_input_tokens: 3, output_tokens: 9, server_tool_use: null },
    },
    { type: 'message_stop' },
    { type: 'message_start', message },
  );
  assert.deepStrictEqual(await collect(withDelta), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({}, 'length'),
    c.usage(10, 9, 3),
  ]);
  const withoutDelta = events({ type: 'message_start', message }, { type: 'message_stop' });
  assert.deepStrictEqual(await collect(withoutDelta), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({}, 'stop'),
    c.usage(5, 1, 0),
  ]);
});

test('tool blocks without input JSON stream "{}" arguments, as the JSON translation gives', async () => {
  // Anthropic streams a call to a parameterless tool as a single empty partial_json.
  const message = { id: 'msg_e', model: 'm', content: [], usage: { input_tokens: 5, output_tokens: 1 } };
  const c = chunkMaker('msg_e', 'm');
  const source = events(
    { type: 'message_start', message },
    {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} },
    },
    { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '' } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'content_block_start',
      index: 1,
      content_block: { type: 'tool_use', id: 'toolu_2', name: 'ping', input: {} },
    },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a":1}' } },
    { type: 'content_block_stop', index: 1 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 4 },
    },
    { type: 'message_stop' },
  );
  assert.deepStrictEqual(await collect(source), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({
      tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'now', arguments: '' } }],
    }),
    c.delta({ tool_calls: [{ index: 0, function: { arguments: '{}' } }] }),
    c.delta({
      tool_calls: [{ index: 1, id: 'toolu_2', type: 'function', function: { name: 'ping', arguments: '' } }],
    }),
    c.delta({ tool_calls: [{ index: 1, function: { arguments: '{"a":1}' } }] }),
    c.delta({}, 'tool_calls'),
    c.usage(5, 4, 0),
  ]);

  const jsonAnswer = events(
    { type: 'message_start', message },
    {
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_3', name: 'person', input: {} },
    },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { output_tokens: 2 },
    },
    { type: 'message_stop' },
  );
  assert.deepStrictEqual(await collect(jsonAnswer, { jsonTool: 'person' }), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({ content: '{}' }),
    c.delta({}, 'stop'),
    c.usage(5, 2, 0),
  ]);
});

test('several message_delta events (server tools) give one finish chunk, with the last stop reason', async () => {
  // The streaming docs promise "one or more message_delta events"; their usage is cumulative.
  const message = { id: 'msg_m', model: 'm', content: [], usage: { input_tokens: 5, output_tokens: 1 } };
  const c = chunkMaker('msg_m', 'm');
  const source = events(
    { type: 'message_start', message },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
    { type: 'content_block_stop', index: 0 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'pause_turn', stop_sequence: null },
      usage: { output_tokens: 3, server_tool_use: { web_search_requests: 1 } },
    },
    {
      type: 'message_delta',
      delta: { stop_reason: 'model_context_window_exceeded', stop_sequence: null },
      usage: { input_tokens: 6, output_tokens: 8 },
    },
    { type: 'message_stop' },
  );
  assert.deepStrictEqual(await collect(source), [
    c.delta({ role: 'assistant', content: '' }),
    c.delta({ content: 'Hi' }),
    c.delta({}, 'length'),
    c.usage(6, 8, 0),
  ]);
});

test('the opening chunk carries message_start usage (real input and cache counts), invisibly', async () => {
  const usage = {
    input_tokens: 5,
    cache_read_input_tokens: 300,
    cache_creation_input_tokens: 20,
    output_tokens: 1,
  };
  const message = { id: 'msg_x', model: 'm', content: [], usage };
  const [opening] = await collect(events({ type: 'message_start', message }, { type: 'message_stop' }));
  assert.deepEqual(partialUsageOf(opening as object), {
    prompt_tokens: 325,
    completion_tokens: 1,
    total_tokens: 326,
    prompt_tokens_details: { cached_tokens: 300, cache_creation_tokens: 20 },
  });
  assert.doesNotMatch(JSON.stringify(opening), /usage/, 'the chunk a client gets has no usage');
});
