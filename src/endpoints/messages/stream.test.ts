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
