/**
 * POST /v1/embeddings through the real gateway: the official openai SDK, OpenAI's JSON Schema for the answer,
 * OpenAI-compatible and Gemini upstreams, routing like chat (retries), and clear errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { expectError } from '../helpers/errors.js';
import { postJson, useGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';

describe('embeddings', () => {
  const t = useGateway();
  const schemas = loadOpenAISchemas();
  const client = () => new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const url = () => `${t.gw.url}/v1/embeddings`;

  for (const model of ['text-embedding-3-small', 'gemini/gemini-embedding-001']) {
    test(`${model}: the SDK gets one vector per input, in order, valid against OpenAI's schema`, async () => {
      const { data: answer, response } = await client()
        .embeddings.create({
          model,
          input: ['first text', 'second text', 'first text'],
          encoding_format: 'float',
        })
        .withResponse();
      assertSchema(schemas.embeddings, answer, `${model} embeddings`);
      assert.equal(answer.data.length, 3);
      assert.deepEqual(
        answer.data.map((d) => d.index),
        [0, 1, 2],
      );
      assert.deepEqual(answer.data[0]?.embedding, answer.data[2]?.embedding, 'equal texts, equal vectors');
      assert.notDeepEqual(answer.data[0]?.embedding, answer.data[1]?.embedding);
      assert.equal(response.headers.get('x-provider'), model.startsWith('gemini') ? 'gemini' : 'openai');
      assert.ok(response.headers.get('x-request-id'));
    });

    test(`${model}: dimensions and base64 encoding`, async () => {
      const res = await postJson(url(), { model, input: 'hello', dimensions: 4, encoding_format: 'base64' });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { data: Array<{ embedding: string }> };
      // OpenAI's schema types `embedding` as an array only; base64 answers are strings, as from OpenAI.
      const floats = new Float32Array(
        new Uint8Array(Buffer.from(body.data[0]?.embedding ?? '', 'base64')).buffer,
      );
      assert.equal(floats.length, 4);
      assert.ok(Math.abs(Math.hypot(...floats) - 1) < 1e-5, 'a unit vector survives the base64 round trip');
    });
  }

  test('the SDK default (base64) decodes to floats', async () => {
    const answer = await client().embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.equal(answer.data[0]?.embedding.length, 8);
    assert.equal(typeof answer.data[0]?.embedding[0], 'number');
  });

  test('an upstream 503 is retried like a completion', async () => {
    t.mock.enqueue({ kind: 'status', status: 503 });
    const res = await postJson(url(), { model: 'text-embedding-3-small', input: 'x' });
    assert.equal(res.status, 200);
    assert.equal(t.mock.requests.length, 2);
    assert.equal(t.mock.requests[1]?.path, '/v1/embeddings');
    // Not cached, and said so like any request that is not cacheable.
    assert.equal(res.headers.get('x-cache-status'), 'BYPASS');
    assert.equal(res.headers.get('x-cache-type'), 'MISS');
  });

  test('bad input is a 422 naming the field; nothing reaches the provider', async () => {
    for (const [body, param] of [
      [{ model: 'text-embedding-3-small' }, 'input'],
      [{ model: 'text-embedding-3-small', input: [] }, 'input'],
      [{ model: 'text-embedding-3-small', input: '' }, 'input'],
      [{ model: 'text-embedding-3-small', input: ['a', ''] }, 'input[1]'],
      [{ model: 'text-embedding-3-small', input: 'x', dimensions: 0 }, 'dimensions'],
      [{ model: 'text-embedding-3-small', input: 'x', encoding_format: 'int8' }, 'encoding_format'],
      [{ input: 'x' }, 'model'],
    ] as const) {
      const res = await postJson(url(), body);
      await expectError(res, { status: 422, type: 'invalid_request_error', param });
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('a provider without embeddings (Anthropic) is a 400 naming the model', async () => {
    const res = await postJson(url(), { model: 'claude-haiku-4-5', input: 'x' });
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param: 'model',
    });
    assert.equal(t.mock.requests.length, 0);
  });

  test('an unknown model is a 400 model_not_found', async () => {
    const res = await postJson(url(), { model: 'no-such-embedder', input: 'x' });
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  });
});
