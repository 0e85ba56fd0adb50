/**
 * Files API sources on `POST /v1/messages` (beta `files-api-2025-04-14`): sent as they are to an Anthropic
 * deployment, refused with a 400 naming the block for a model that routes to another provider.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { fileSourceParam } from '../../src/endpoints/messages/stage.js';
import { assertErrorBody } from '../fixtures/anthropic-schemas.js';
import { useGateway } from '../helpers/gateway.js';

const FILE_IMAGE = {
  type: 'image' as const,
  source: { type: 'file' as const, file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' },
};
const BETA = 'files-api-2025-04-14';

describe('Files API sources on /v1/messages', () => {
  const t = useGateway();
  const client = () => new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key', maxRetries: 0 });

  test('an Anthropic deployment gets the file image block and the beta header as sent', async () => {
    const message = await client().beta.messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 100,
      betas: [BETA],
      messages: [{ role: 'user', content: [FILE_IMAGE, { type: 'text', text: 'What is in it?' }] }],
    });
    assert.equal(message.type, 'message');
    const upstream = t.mock.requests.at(-1);
    assert.ok(upstream);
    assert.equal(upstream.headers['anthropic-beta'], BETA);
    const sent = upstream.body as { messages: Array<{ content: unknown[] }> };
    assert.deepEqual(sent.messages[0]?.content[0], FILE_IMAGE);
  });

  test('a model served by another provider: 400 naming the source, nothing sent upstream', async () => {
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'gw-key', 'anthropic-beta': BETA },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        max_tokens: 100,
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Look:' }, FILE_IMAGE] }],
      }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    assertErrorBody(body);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /^messages\[0\]\.content\[1\]\.source is a Files API file/);
    assert.equal(t.mock.requests.length, 0);
  });

  test('a source of an unknown type is named by its type, not by media_type', async () => {
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'gw-key' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 100,
        messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'blob', id: 'x' } }] }],
      }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { message: string } };
    assert.doesNotMatch(body.error.message, /media_type/);
    assert.match(body.error.message, /source/);
  });
});

test('fileSourceParam finds file sources in blocks, tool results and content documents', () => {
  const doc = { type: 'document', source: { type: 'file', file_id: 'file_1' } };
  assert.equal(fileSourceParam({ messages: [{ role: 'user', content: 'hi' }] }), undefined);
  assert.equal(
    fileSourceParam({ messages: [{ role: 'user', content: [doc] }] }),
    'messages[0].content[0].source',
  );
  const inResult = {
    type: 'tool_result',
    tool_use_id: 't',
    content: [{ type: 'text', text: 'x' }, FILE_IMAGE],
  };
  assert.equal(
    fileSourceParam({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
        { role: 'user', content: [inResult] },
      ],
    }),
    'messages[2].content[0].content[1].source',
  );
  const inDocument = { type: 'document', source: { type: 'content', content: [FILE_IMAGE] } };
  assert.equal(
    fileSourceParam({ messages: [{ role: 'user', content: [inDocument] }] }),
    'messages[0].content[0].source.content[0].source',
  );
});
