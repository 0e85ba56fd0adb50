import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toChatRequest } from './translate-request.js';

test('prompt or conversation sent as null (unset fields serialised) is not an OpenAI-only request', () => {
  const plain = toChatRequest({ model: 'm', input: 'hi', prompt: null, conversation: null } as never);
  assert.deepEqual(plain.nativeOnly, []);
  const hosted = toChatRequest({ model: 'm', input: 'hi', prompt: { id: 'pmpt_1' } } as never);
  assert.deepEqual(
    hosted.nativeOnly.map((n) => n.at),
    ['prompt'],
  );
});
