import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatCompletionChunk } from '../../providers/types.js';
import { anthropicStreamEncoder } from './stream.js';

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1, model: 'm' };

function chunk(delta: object, finish: string | null = null): ChatCompletionChunk {
  return {
    ...head,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  } as ChatCompletionChunk;
}

/** The events the encoder writes for `chunks`, parsed. */
function encode(chunks: ChatCompletionChunk[]): Array<Record<string, unknown>> {
  const encoder = anthropicStreamEncoder(5);
  let text = '';
  for (const c of chunks) text += encoder.chunk(c) ?? '';
  text += encoder.end();
  return text
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as Record<string, unknown>);
}

test('a new tool-call id opens a new tool_use block, even under the same index', () => {
  const events = encode([
    chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"x":1}' } }] }),
    chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { name: 'b', arguments: '{"y":2}' } }] }),
    // The same id again is the same call (servers that repeat it on every delta).
    chunk({ tool_calls: [{ index: 0, id: 'call_b', function: { arguments: '' } }] }),
    chunk({}, 'tool_calls'),
  ]);
  const starts = events.filter((e) => e.type === 'content_block_start');
  assert.deepEqual(
    starts.map((e) => [e.index, (e.content_block as { id: string }).id]),
    [
      [0, 'call_a'],
      [1, 'call_b'],
    ],
  );
  const json = events
    .filter((e) => e.type === 'content_block_delta')
    .map((e) => [e.index, (e.delta as { partial_json: string }).partial_json]);
  assert.deepEqual(json, [
    [0, '{"x":1}'],
    [1, '{"y":2}'],
  ]);
});

test('a streamed refusal is a text block and stops with refusal', () => {
  const events = encode([
    chunk({ role: 'assistant', content: '', refusal: null }),
    chunk({ refusal: 'I cannot ' }),
    chunk({ refusal: 'help with that.' }),
    chunk({}, 'stop'),
  ]);
  const text = events
    .filter((e) => e.type === 'content_block_delta')
    .map((e) => (e.delta as { text: string }).text)
    .join('');
  assert.equal(text, 'I cannot help with that.');
  const delta = events.find((e) => e.type === 'message_delta')?.delta as { stop_reason: string };
  assert.equal(delta.stop_reason, 'refusal');
});

/** Each tool_use block's name and input, from the events, checking blocks open and close strictly in order. */
function toolInputs(events: Array<Record<string, unknown>>): Array<[string, unknown]> {
  const blocks: Array<{ name: string; json: string }> = [];
  let open = -1;
  for (const e of events) {
    if (e.type === 'content_block_start') {
      assert.equal(open, -1, 'one block open at a time');
      assert.equal(e.index, blocks.length, 'blocks numbered in order');
      open = e.index as number;
      const block = e.content_block as { type: string; name?: string };
      blocks.push({ name: block.type === 'tool_use' ? (block.name as string) : `(${block.type})`, json: '' });
    } else if (e.type === 'content_block_delta') {
      assert.equal(e.index, open, 'deltas go to the open block');
      const block = blocks[open] as { json: string };
      const delta = e.delta as { partial_json?: string; text?: string };
      block.json += delta.partial_json ?? JSON.stringify(delta.text);
    } else if (e.type === 'content_block_stop') {
      assert.equal(e.index, open);
      open = -1;
    }
  }
  return blocks.map((b) => [b.name, JSON.parse(b.json === '' ? '{}' : b.json)]);
}

const call = (index: number, args: string, id?: string, name?: string) =>
  chunk({
    tool_calls: [{ index, ...(id ? { id } : {}), function: { ...(name ? { name } : {}), arguments: args } }],
  });

test('parallel calls whose argument deltas interleave keep every argument (interleaved, headers first)', () => {
  const interleaved = [
    call(0, '', 'call_1', 'f'),
    call(1, '', 'call_2', 'g'),
    call(0, '{"city":'),
    call(1, '{"tz":'),
    call(0, '"Paris"}'),
    call(1, '"CET"}'),
    chunk({}, 'tool_calls'),
  ];
  const headersFirst = [
    call(0, '', 'call_1', 'f'),
    call(1, '', 'call_2', 'g'),
    call(0, '{"city":'),
    call(0, '"Paris"}'),
    call(1, '{"tz":'),
    call(1, '"CET"}'),
    chunk({}, 'tool_calls'),
  ];
  for (const chunks of [interleaved, headersFirst]) {
    assert.deepEqual(toolInputs(encode(chunks)), [
      ['f', { city: 'Paris' }],
      ['g', { tz: 'CET' }],
    ]);
  }
});

test('sequential calls still stream each call as it comes; text after calls is its own block', () => {
  const events = encode([
    call(0, '{"a":', 'call_1', 'f'),
    call(0, '1}'),
    call(1, '{"b":', 'call_2', 'g'),
    call(1, '2}'),
    chunk({ content: 'done' }),
    chunk({}, 'stop'),
  ]);
  assert.deepEqual(toolInputs(events), [
    ['f', { a: 1 }],
    ['g', { b: 2 }],
    ['(text)', 'done'],
  ]);
  // The second call's first piece was sent as it arrived, not held to the end.
  const deltas = events.filter((e) => e.type === 'content_block_delta');
  assert.deepEqual(
    deltas.slice(0, 4).map((e) => (e.delta as { partial_json: string }).partial_json),
    ['{"a":', '1}', '{"b":', '2}'],
  );
});
