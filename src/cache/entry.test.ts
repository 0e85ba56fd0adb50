import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatCompletionChunk } from '../providers/types.js';
import { chunksFromEntry, completionFromChunks, entryFromCompletion } from './entry.js';

const base = { id: 'c1', object: 'chat.completion.chunk' as const, created: 5, model: 'm-1' };
const chunks: ChatCompletionChunk[] = [
  { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] },
  { ...base, choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: null }] },
  { ...base, choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
  {
    ...base,
    choices: [
      {
        index: 0,
        delta: {
          tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'f', arguments: '{"a"' } }],
        },
        finish_reason: null,
      },
    ],
  },
  {
    ...base,
    choices: [
      {
        index: 0,
        delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] },
        finish_reason: null,
      },
    ],
  },
  { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  { ...base, choices: [], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } },
];

describe('cache entries', () => {
  test('a completed stream becomes a completion; a truncated one does not', () => {
    const completion = completionFromChunks(chunks);
    assert.equal(completion?.choices[0]?.message.content, 'Hello');
    assert.deepEqual(completion?.choices[0]?.message.tool_calls, [
      { id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
    ]);
    assert.equal(completion?.choices[0]?.finish_reason, 'tool_calls');
    assert.deepEqual(completion?.usage, { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    assert.equal(completionFromChunks(chunks.slice(0, 4)), null);
  });

  test('an entry replays as chunks that rebuild the same completion', () => {
    const completion = completionFromChunks(chunks);
    assert.ok(completion);
    const entry = entryFromCompletion(completion, {
      model: 'alias',
      provider: 'p',
      deploymentModel: 'm',
      now: 0,
    });
    assert.ok(entry);
    const replayed = completionFromChunks(chunksFromEntry(entry));
    assert.deepEqual(replayed?.choices, completion.choices);
    assert.deepEqual(replayed?.usage, completion.usage);
  });
});
