import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError } from '../../core/errors.js';
import type { ChatRequest } from '../types.js';
import { toGeminiRequest } from './request.js';

function req(fields: Partial<ChatRequest>): ChatRequest {
  return { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }], ...fields } as ChatRequest;
}

function assertBadRequest(fields: Partial<ChatRequest>, param: string, code = 'unsupported_parameter'): void {
  assert.throws(
    () => toGeminiRequest(req(fields)),
    (err: unknown) => {
      assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
      assert.equal(err.param, param);
      assert.equal(err.code, code);
      assert.equal(err.status, 400);
      return true;
    },
  );
}

test('unsupported content parts and fields are BadRequestErrors naming the param', () => {
  const withPart = (part: unknown) => ({
    messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, part] }] as ChatRequest['messages'],
  });
  assertBadRequest(withPart({ type: 'video_url', video_url: 'x' }), 'messages[0].content[1].type');
  assertBadRequest(withPart({ type: 'file', file: { file_id: 'file-1' } }), 'messages[0].content[1].file');
  assertBadRequest(
    withPart({ type: 'input_audio', input_audio: { data: 'x', format: 'flac' } }),
    'messages[0].content[1].input_audio.format',
  );
  assertBadRequest(
    withPart({ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }),
    'messages[0].content[1].image_url.url',
  );
  assertBadRequest(
    withPart({ type: 'image_url', image_url: { url: 'data:image/png,%89PNG' } }),
    'messages[0].content[1].image_url.url',
  );
  assertBadRequest(
    { messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] as never },
    'messages[0].content[0].type',
  );
  assertBadRequest({ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role');
  assertBadRequest({ tools: [{ type: 'custom', custom: { name: 'grammar' } }] }, 'tools[0].type');
  assertBadRequest(
    { tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [] } } },
    'tool_choice',
  );
  assertBadRequest({ logprobs: true }, 'logprobs');
  assertBadRequest({ functions: [{ name: 'f' }] }, 'functions');
  assertBadRequest({ modalities: ['text', 'audio'] }, 'modalities');
});

test('bad tool call history is a BadRequestError naming the param', () => {
  const call = (args: string) => ({
    role: 'assistant' as const,
    tool_calls: [
      { id: 'ok', type: 'function' as const, function: { name: 'f', arguments: '{}' } },
      { id: 'c1', type: 'function' as const, function: { name: 'f', arguments: args } },
    ],
  });
  assertBadRequest(
    { messages: [{ role: 'user', content: 'x' }, call('{"a":')] },
    'messages[1].tool_calls[1].function.arguments',
    'invalid_request',
  );
  assertBadRequest(
    { messages: [{ role: 'user', content: 'x' }, call('[1]')] },
    'messages[1].tool_calls[1].function.arguments',
    'invalid_request',
  );
  assertBadRequest(
    {
      messages: [
        { role: 'user', content: 'x' },
        call('{}'),
        { role: 'tool', tool_call_id: 'nope', content: 'r' },
      ],
    },
    'messages[2].tool_call_id',
    'invalid_request',
  );
});

test('an assistant turn that is only an OpenAI audio reference is refused, not dropped', () => {
  const audioTurn = (content: string | null) =>
    ({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content, audio: { id: 'audio_abc' } },
        { role: 'user', content: 'And?' },
      ],
    }) as Partial<ChatRequest>;
  assertBadRequest(audioTurn(null), 'messages[1].audio');
  // With its transcript as content, the turn is kept and the reference dropped.
  const body = toGeminiRequest(req(audioTurn('Hello there')));
  assert.deepEqual(body.contents?.[1], { role: 'model', parts: [{ text: 'Hello there' }] });
});
