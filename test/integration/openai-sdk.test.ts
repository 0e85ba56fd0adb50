/**
 * The official `openai` SDK works unchanged against the gateway by setting `baseURL` (DESIGN §1.1):
 * completions, streams with usage, typed errors, the models list and response headers.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

describe('the official openai SDK against the gateway', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({ mock });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    mock.setAnswer({ usage: { prompt: 9, completion: 4, cached: 0 } });
  });

  test('chat.completions.create (non-stream)', async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello' }],
      temperature: 0,
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'gpt-4o');
    assert.equal(completion.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(completion.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(
      [completion.usage?.prompt_tokens, completion.usage?.completion_tokens, completion.usage?.total_tokens],
      [9, 4, 13],
    );
    assert.equal(mock.requests.length, 1);
  });

  test('chat.completions.create (stream): chunks join to the text; usage on the last chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.ok(chunks.length >= 3);
    assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello from the mock');
    assert.equal(chunks.findLast((c) => c.choices.length > 0)?.choices[0]?.finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual(
      { p: last?.usage?.prompt_tokens, c: last?.usage?.completion_tokens, t: last?.usage?.total_tokens },
      { p: 9, c: 4, t: 13 },
    );
  });

  test('a stream of an Anthropic model through the SDK stream helper', async () => {
    const runner = client.chat.completions.stream({
      model: 'claude-3-5-haiku-latest',
      messages: [{ role: 'user', content: 'Say hello' }],
    });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(final.choices[0]?.finish_reason, 'stop');
    assert.equal(mock.requests[0]?.dialect, 'anthropic');
  });

  test('unknown model → OpenAI.BadRequestError with status, error and code', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, `got ${String(err)}`);
        assert.equal(err.status, 400);
        assert.equal(err.code, 'model_not_found');
        assert.equal(err.param, 'model');
        assert.equal(err.type, 'invalid_request_error');
        const body = err.error as { message?: string } | undefined;
        assert.match(body?.message ?? '', /no-such-model/);
        assert.match(err.message, /no-such-model/);
        assert.match(err.requestID ?? '', /^[0-9a-f-]{36}$/, 'the SDK sees x-request-id');
        return true;
      },
    );
    assert.equal(mock.requests.length, 0);
  });

  test('schema violation → OpenAI.UnprocessableEntityError naming the field', async () => {
    await assert.rejects(
      client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
        temperature: 3,
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.UnprocessableEntityError, `got ${String(err)}`);
        assert.equal(err.status, 422);
        assert.equal(err.param, 'temperature');
        assert.equal(err.type, 'invalid_request_error');
        return true;
      },
    );
    assert.equal(mock.requests.length, 0);
  });

  test('an upstream 429 after retries → OpenAI.RateLimitError', async () => {
    mock.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })));
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError, `got ${String(err)}`);
        assert.equal(err.status, 429);
        assert.equal(err.type, 'rate_limit_error');
        return true;
      },
    );
    assert.equal(mock.requests.length, 3, 'retried up to max_attempts');
  });

  test('models.list() and models.retrieve()', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.ok(ids.includes('gpt-4o'));
    assert.ok(ids.includes('claude-3-5-haiku-latest'));
    assert.ok(ids.includes('gemini-2.5-flash'));
    const one = await client.models.retrieve('gpt-4o');
    assert.equal(one.id, 'gpt-4o');
    assert.equal(one.object, 'model');
    await assert.rejects(client.models.retrieve('nope'), OpenAI.NotFoundError);
  });

  test('withResponse() exposes x-request-id and routing headers', async () => {
    const { data, response, request_id } = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] },
        { headers: { 'x-request-id': 'sdk-req-1' } },
      )
      .withResponse();
    assert.equal(data.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(response.headers.get('x-request-id'), 'sdk-req-1');
    assert.equal(request_id, 'sdk-req-1');
    assert.equal(response.headers.get('x-provider'), 'openai');
    assert.equal(response.headers.get('x-model'), 'gpt-4o-mini');
    const gatewayId = response.headers.get('x-gateway-request-id');
    assert.match(gatewayId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(mock.requests[0]?.headers['x-request-id'], gatewayId, 'the gateway id goes upstream');
  });
});
