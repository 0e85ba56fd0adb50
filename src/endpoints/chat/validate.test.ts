import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../core/errors.js';
import { createSchemaCompiler } from '../compile.js';
import { createChatCodec } from './codec.js';

const codec = createChatCodec(createSchemaCompiler());
const decode = (messages: unknown[]) =>
  codec.decode(JSON.stringify({ model: 'gpt-4o-audio-preview', messages }), {});

test('an assistant message may stand on content, tool_calls, function_call, refusal or an audio reference', () => {
  const user = { role: 'user', content: 'Hi' };
  for (const assistant of [
    { role: 'assistant', content: 'Hello' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }],
    },
    { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } },
    { role: 'assistant', content: null, refusal: 'No.' },
    // OpenAI's multi-turn audio: the earlier audio answer is referred to by its id, with no content.
    { role: 'assistant', audio: { id: 'audio_abc' } },
  ]) {
    const decoded = decode([user, assistant, user]);
    assert.equal(decoded.kind, 'chat');
  }
});

test('an assistant message with none of them is a 422 naming its content', () => {
  for (const assistant of [
    { role: 'assistant' },
    { role: 'assistant', content: null, audio: null },
    { role: 'assistant', content: null, tool_calls: [] },
  ]) {
    assert.throws(
      () => decode([{ role: 'user', content: 'Hi' }, assistant]),
      (err: unknown) => err instanceof ValidationError && err.param === 'messages[1].content',
    );
  }
});
