/**
 * A whole answer from an OpenAI-compatible upstream reaches the client as the bytes the upstream sent
 * (decision 0184): the gateway parses it (usage, cost, cache) but writes the upstream's own text — through
 * the fast lane and through Fastify (`/%761/…`, the path the lane leaves to Fastify), for chat completions
 * and embeddings. An answer the gateway changes (an output guardrail masking a value) or serves from its
 * cache is a new object and is serialised.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

/** Bytes that JSON.parse + JSON.stringify would change: indentation, `\u` escapes, `1.50`, key order. */
const COMPLETION = `{
  "object": "chat.completion",
  "id": "chatcmpl-bytes",
  "created": 1700000000,
  "model": "gpt-4o-mini",
  "choices": [ { "index": 0, "message": { "role": "assistant", "content": "caf\\u00e9 bob@corp.io", "refusal": null },
    "logprobs": null, "finish_reason": "stop" } ],
  "usage": { "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7 },
  "vendor_score": 1.50
}
`;
const EMBEDDINGS = `{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.10, -2.5e-3, 1.0]}],
 "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2}}`;

describe('whole answers pass through byte for byte', () => {
  let upstream: CaptureServer;
  let mock: MockUpstream;
  let gw: TestGateway;
  let masked: TestGateway;

  before(async () => {
    upstream = await startCaptureServer((req) => ({
      status: 200,
      body: req.url.endsWith('/embeddings') ? EMBEDDINGS : COMPLETION,
    }));
    mock = await MockUpstream.start();
    const env = { OPENAI_BASE_URL: `${upstream.url}/v1` };
    gw = await startGateway({ mock, env });
    masked = await startGateway({ mock, env: { ...env, GUARDRAILS_DEFAULT_POLICY: 'pii' } });
  });
  after(async () => {
    await gw?.close();
    await masked?.close();
    await mock?.close();
    await upstream?.close();
  });

  const chat = { model: 'gpt-4o-mini', messages: userMessage('hi') };

  test('chat completions: the upstream bytes, through the fast lane and through Fastify', async () => {
    for (const path of ['/v1/chat/completions', '/%761/chat/completions']) {
      const res = await postJson(`${gw.url}${path}`, chat);
      assert.equal(res.status, 200, path);
      const text = await res.text();
      assert.equal(text, COMPLETION, path);
      assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(COMPLETION)), path);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', path);
    }
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    assert.equal(completion.choices[0]?.message.content, 'café bob@corp.io');
    assert.equal(completion.usage?.total_tokens, 7);
  });

  test('embeddings: the upstream bytes', async () => {
    for (const path of ['/v1/embeddings', '/%761/embeddings']) {
      const res = await postJson(`${gw.url}${path}`, { model: 'text-embedding-3-small', input: 'hi' });
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), EMBEDDINGS, path);
    }
  });

  test('an answer a guardrail changed is serialised from the changed object', async () => {
    const res = await postJson(`${masked.url}/v1/chat/completions`, chat);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.ok(!text.includes('bob@corp.io'), 'the masked value never leaves');
    const body = JSON.parse(text) as {
      choices: Array<{ message: { content: string } }>;
      vendor_score: number;
    };
    assert.equal(body.choices[0]?.message.content, 'café <EMAIL_1>');
    assert.equal(body.vendor_score, 1.5, 'the rest of the answer is kept');
  });
});
