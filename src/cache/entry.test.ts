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

  const citation = {
    type: 'url_citation',
    url_citation: { start_index: 0, end_index: 5, title: 'Hello', url: 'https://example.com/hello' },
  };

  test('citations (annotations) of a streamed answer are kept, and replayed with the content', () => {
    const cited: ChatCompletionChunk[] = [
      chunks[0] as ChatCompletionChunk,
      { ...base, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }] },
      {
        ...base,
        choices: [{ index: 0, delta: { annotations: [citation] } as never, finish_reason: null }],
      },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    const completion = completionFromChunks(cited);
    assert.deepEqual(completion?.choices[0]?.message.annotations, [citation]);
    assert.ok(completion);
    const entry = entryFromCompletion(completion, {
      model: 'a',
      provider: 'p',
      deploymentModel: 'm',
      now: 0,
    });
    assert.ok(entry);
    const replayed = chunksFromEntry(entry);
    const content = replayed.find((c) => c.choices[0]?.delta.content === 'Hello');
    const delta = content?.choices[0]?.delta as { annotations?: unknown } | undefined;
    assert.deepEqual(delta?.annotations, [citation]);
    assert.deepEqual(completionFromChunks(replayed)?.choices, completion.choices);
  });

  test('an answer with audio is not cached, streamed or whole (its id expires upstream)', () => {
    const audio = { id: 'audio_1', data: 'UklGRg==', expires_at: 1_700_000_600, transcript: 'Hello' };
    const spoken: ChatCompletionChunk[] = [
      chunks[0] as ChatCompletionChunk,
      {
        ...base,
        choices: [
          {
            index: 0,
            delta: { audio: { id: 'audio_1', transcript: 'Hello' } } as never,
            finish_reason: null,
          },
        ],
      },
      { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
    ];
    assert.equal(completionFromChunks(spoken), null);
    const whole = {
      id: 'c2',
      object: 'chat.completion' as const,
      created: 5,
      model: 'm-1',
      choices: [
        {
          index: 0,
          message: { role: 'assistant' as const, content: null, refusal: null, audio },
          finish_reason: 'stop' as const,
          logprobs: null,
        },
      ],
    };
    assert.equal(
      entryFromCompletion(whole, { model: 'a', provider: 'p', deploymentModel: 'm', now: 0 }),
      null,
    );
    const choice = whole.choices[0] as (typeof whole.choices)[number];
    const written = {
      ...whole,
      choices: [{ ...choice, message: { ...choice.message, audio: null, content: 'Hi' } }],
    };
    assert.ok(entryFromCompletion(written, { model: 'a', provider: 'p', deploymentModel: 'm', now: 0 }));
  });
});
