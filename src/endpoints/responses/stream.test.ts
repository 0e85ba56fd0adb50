import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatCompletionChunk } from '../../providers/types.js';
import type { ResponseState } from './state.js';
import { openResponsesStream } from './stream.js';
import type { ResponsesBody } from './translate-request.js';

type Event = { type: string; output_index?: number; delta?: string; arguments?: string; item?: unknown };
type CallDelta = { index: number; id?: string; name?: string; args?: string };

function state(): ResponseState {
  const body = { model: 'm', input: 'Weather in Paris and Oslo?' } as ResponsesBody;
  return { id: 'resp_1', createdAt: 0, body, store: false, nativeOnly: [], origins: [], onFinal: null };
}

function chunk(delta: Record<string, unknown>, finish: string | null = null): ChatCompletionChunk {
  return {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 0,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
  } as ChatCompletionChunk;
}

const calls = (...deltas: CallDelta[]) =>
  chunk({
    tool_calls: deltas.map((d) => ({
      index: d.index,
      ...(d.id ? { id: d.id, type: 'function' } : {}),
      function: { ...(d.name ? { name: d.name } : {}), ...(d.args ? { arguments: d.args } : {}) },
    })),
  });

/** The events of a translated stream, and a compact trace: `type@output_index`. */
function run(chunks: ChatCompletionChunk[]): { events: Event[]; trace: string[] } {
  const encoder = openResponsesStream(state());
  const text = chunks.map((c) => encoder.chunk(c) ?? '').join('') + encoder.end();
  const events = text
    .split('\n\n')
    .filter((block) => block.startsWith('event: '))
    .map((block) => JSON.parse(block.slice(block.indexOf('data: ') + 6)) as Event);
  const trace = events
    .filter((e) => e.type.startsWith('response.output_item') || e.type.startsWith('response.function_call'))
    .map((e) => `${e.type.replace('response.', '')}@${e.output_index}`);
  return { events, trace };
}

/** OpenAI's order: each item done before the next is added. */
function assertOneOpenItem(events: Event[]): void {
  let open: number | undefined;
  for (const e of events) {
    if (e.type === 'response.output_item.added') {
      assert.equal(open, undefined, `item ${e.output_index} added while ${open} is open`);
      open = e.output_index;
    } else if (e.type === 'response.output_item.done') {
      assert.equal(e.output_index, open);
      open = undefined;
    } else if (e.output_index !== undefined && e.type !== 'response.completed') {
      assert.equal(e.output_index, open, `${e.type} for ${e.output_index} while ${open} is open`);
    }
  }
}

test('parallel calls, one after the other: each item is done before the next is added, all streamed', () => {
  const { events, trace } = run([
    calls({ index: 0, id: 'call_a', name: 'get_weather', args: '' }),
    calls({ index: 0, args: '{"city":' }),
    calls({ index: 0, args: '"Paris"}' }),
    calls({ index: 1, id: 'call_b', name: 'get_weather', args: '{"city":' }),
    calls({ index: 1, args: '"Oslo"}' }),
    chunk({}, 'tool_calls'),
  ]);
  assert.deepEqual(trace, [
    'output_item.added@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.done@0',
    'output_item.done@0',
    'output_item.added@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.done@1',
    'output_item.done@1',
  ]);
  assertOneOpenItem(events);
  const done = events.filter((e) => e.type === 'response.function_call_arguments.done');
  assert.deepEqual(
    done.map((e) => e.arguments),
    ['{"city":"Paris"}', '{"city":"Oslo"}'],
  );
  const final = events.at(-1) as {
    type: string;
    response: { output: Array<{ call_id: string; arguments: string }> };
  };
  assert.equal(final.type, 'response.completed');
  assert.deepEqual(
    final.response.output.map((o) => [o.call_id, o.arguments]),
    [
      ['call_a', '{"city":"Paris"}'],
      ['call_b', '{"city":"Oslo"}'],
    ],
  );
});

test('interleaved argument deltas: the later call is held back until the earlier one is complete', () => {
  const { events, trace } = run([
    calls({ index: 0, id: 'call_a', name: 'f', args: '{"x":' }),
    calls({ index: 1, id: 'call_b', name: 'g', args: '{"y":' }),
    calls({ index: 0, args: '1}' }, { index: 1, args: '2' }),
    calls({ index: 1, args: '}' }),
    calls({ index: 2, id: 'call_c', name: 'h', args: '{' }),
    // Whitespace after a complete value, for a call already done: dropped (nothing else may follow).
    calls({ index: 1, args: ' ' }),
    calls({ index: 2, args: '}' }),
    chunk({}, 'tool_calls'),
  ]);
  assertOneOpenItem(events);
  assert.deepEqual(trace, [
    'output_item.added@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.done@0',
    'output_item.done@0',
    'output_item.added@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.done@1',
    'output_item.done@1',
    'output_item.added@2',
    'function_call_arguments.delta@2',
    'function_call_arguments.delta@2',
    'function_call_arguments.done@2',
    'output_item.done@2',
  ]);
  const args = events
    .filter((e) => e.type === 'response.function_call_arguments.done')
    .map((e) => e.arguments);
  assert.deepEqual(args, ['{"x":1}', '{"y":2}', '{}']);
  const deltas = (i: number) =>
    events
      .filter((e) => e.type === 'response.function_call_arguments.delta' && e.output_index === i)
      .map((e) => e.delta)
      .join('');
  assert.equal(deltas(1), '{"y":2}');
});

test('a call whose arguments never complete holds the others until the end; text after calls closes them', () => {
  const { events, trace } = run([
    calls({ index: 0, id: 'call_a', name: 'f', args: '{"x":' }),
    calls({ index: 1, id: 'call_b', name: 'g', args: '{}' }),
    chunk({ content: 'Done.' }),
  ]);
  assertOneOpenItem(events);
  assert.deepEqual(trace, [
    'output_item.added@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.done@0',
    'output_item.done@0',
    'output_item.added@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.done@1',
    'output_item.done@1',
    'output_item.added@2',
    'output_item.done@2',
  ]);
});

test('after text, an index seen before starts a new call', () => {
  const { events, trace } = run([
    calls({ index: 0, id: 'call_a', name: 'f', args: '{}' }),
    calls({ index: 1, id: 'call_b', name: 'g', args: '{}' }),
    chunk({ content: 'And then:' }),
    calls({ index: 0, id: 'call_c', name: 'h', args: '{}' }),
  ]);
  assertOneOpenItem(events);
  assert.equal(trace.filter((t) => t.startsWith('output_item.done')).length, 4);
  assert.deepEqual(trace.slice(-4), [
    'output_item.added@3',
    'function_call_arguments.delta@3',
    'function_call_arguments.done@3',
    'output_item.done@3',
  ]);
});

test('parallel calls without arguments (""): each ends with a "{}" delta, .done and the item say "{}"', () => {
  const { events, trace } = run([
    calls({ index: 0, id: 'call_a', name: 'now' }),
    calls({ index: 1, id: 'call_b', name: 'today' }),
    chunk({}, 'tool_calls'),
  ]);
  assertOneOpenItem(events);
  assert.deepEqual(trace, [
    'output_item.added@0',
    'function_call_arguments.delta@0',
    'function_call_arguments.done@0',
    'output_item.done@0',
    // Held back while the first was open, then written whole.
    'output_item.added@1',
    'function_call_arguments.delta@1',
    'function_call_arguments.done@1',
    'output_item.done@1',
  ]);
  for (const i of [0, 1]) {
    const of = events.filter((e) => e.output_index === i);
    const deltas = of.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta);
    assert.deepEqual(deltas, ['{}']);
    assert.equal(of.find((e) => e.type === 'response.function_call_arguments.done')?.arguments, '{}');
    const item = of.find((e) => e.type === 'response.output_item.done')?.item as { arguments: string };
    assert.equal(item.arguments, '{}');
  }
});
