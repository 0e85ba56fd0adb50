import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawChunkText, translateEvents } from '../sse.js';
import type { ChatCompletionChunk } from '../types.js';
import { chatChunks } from './chat-chunks.js';

const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' };

function data(choices: unknown[], extra: object = {}): string {
  return JSON.stringify({ ...head, choices, ...extra });
}

async function run(datas: string[]): Promise<ChatCompletionChunk[]> {
  async function* events() {
    for (const d of datas) yield { data: d, event: undefined, id: undefined };
  }
  const out: ChatCompletionChunk[] = [];
  for await (const chunk of translateEvents(events(), chatChunks('compat'))) out.push(chunk);
  return out;
}

const toolDelta = (call: object) => ({ index: 0, delta: { tool_calls: [call] }, finish_reason: null });
const finish = (reason: string) => ({ index: 0, delta: {}, finish_reason: reason });

test('tool calls streamed without index: a new id takes the next index, a delta without id continues', async () => {
  const chunks = await run([
    data([toolDelta({ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } })]),
    data([toolDelta({ function: { arguments: '{"city":"Paris"}' } })]),
    data([toolDelta({ id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"tz"' } })]),
    // Some servers repeat the id on every delta of a call: the same id is the same call.
    data([toolDelta({ id: 'call_b', function: { arguments: ':"UTC"}' } })]),
    data([finish('tool_calls')]),
    '[DONE]',
  ]);
  const indexes = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls?.map((t) => t.index) ?? []);
  assert.deepEqual(indexes, [0, 0, 1, 1]);
  // A repaired chunk is re-serialised from the object (its upstream text lacks the index).
  assert.equal(rawChunkText(chunks[0] as object), undefined);
  assert.equal(rawChunkText(chunks[4] as object), data([finish('tool_calls')]));
});

test('tool calls with index pass through untouched, with their text kept', async () => {
  const first = data([
    toolDelta({ index: 0, id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } }),
  ]);
  const chunks = await run([first, data([finish('tool_calls')]), '[DONE]']);
  assert.equal(chunks[0]?.choices[0]?.delta.tool_calls?.[0]?.index, 0);
  assert.equal(rawChunkText(chunks[0] as object), first);
});

test('a stream without [DONE] is complete once every choice sent a finish_reason', async () => {
  const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
  const chunks = await run([
    data([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]),
    data([finish('stop')]),
    data([], { usage }),
  ]);
  assert.equal(chunks.length, 3);
  assert.deepEqual(chunks[2]?.usage, usage);
});

test('a stream that ends before a finish_reason is cut off, also when another choice finished', async () => {
  await assert.rejects(
    run([data([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }])]),
    /closed the stream before the answer was complete/,
  );
  await assert.rejects(
    run([
      data([{ index: 0, delta: { content: 'a' }, finish_reason: null }]),
      data([{ index: 1, delta: { content: 'b' }, finish_reason: null }]),
      data([finish('stop')]),
    ]),
    /closed the stream before the answer was complete/,
  );
  await assert.rejects(run([]), /closed the stream before the answer was complete/);
});
