/**
 * Upstream error fidelity (docs/decisions/0206) through a real gateway, the mock upstream over loopback and
 * the official SDKs: a provider's rejection keeps its code, param and (404, 413) status; a spent quota is
 * neither retried nor retried by the SDKs; the Messages API answers with Anthropic's statuses and types and
 * the `request-id` header the Anthropic SDK reads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, TEST_KEYS, useGateway, userMessage } from '../helpers/gateway.js';
import { SMART_ROUTE } from '../helpers/routing.js';

const CONTEXT_LENGTH = {
  error: {
    message: `This model's maximum context length is 128000 tokens. Key ${TEST_KEYS.openai} was used.`,
    type: 'invalid_request_error',
    param: 'messages',
    code: 'context_length_exceeded',
  },
};
const MODEL_NOT_FOUND = {
  error: {
    message: 'The model `gpt-9` does not exist or you do not have access to it.',
    type: 'invalid_request_error',
    param: null,
    code: 'model_not_found',
  },
};
const QUOTA = {
  error: {
    message: 'You exceeded your current quota, please check your plan and billing details.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
};

const MESSAGES = [{ role: 'user' as const, content: 'x' }];
const quotaFault = { kind: 'status', status: 429, body: QUOTA } as const;
const calls = (mock: MockUpstream) => mock.requests.length;

describe('OpenAI endpoints: the provider rejected the request', () => {
  const clock = fakeClock();
  const t = useGateway({ clock, yaml: SMART_ROUTE });
  // The SDK's own retries on: a request that must not be retried is sent once.
  const client = () => new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'gw-key', maxRetries: 2 });

  test('400 context_length_exceeded → BadRequestError with its code, param and message; key redacted', async () => {
    t.mock.enqueue({ kind: 'status', status: 400, body: CONTEXT_LENGTH });
    const err = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.BadRequestError, String(err));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'context_length_exceeded');
    assert.equal(err.param, 'messages');
    assert.equal(err.type, 'invalid_request_error');
    assert.match(err.message, /maximum context length is 128000 tokens/);
    assert.ok(!err.message.includes(TEST_KEYS.openai), 'the provider key is redacted');
    assert.match(err.message, /\[redacted\]/);
    assert.equal(calls(t.mock), 1, 'not retried, not fallen back');
  });

  test('the same on /v1/completions, /v1/embeddings and /v1/responses', async () => {
    const invalidValue = {
      error: {
        message: 'Invalid value.',
        type: 'invalid_request_error',
        param: 'input',
        code: 'invalid_value',
      },
    };
    const requests: Array<[string, Record<string, unknown>]> = [
      ['/v1/completions', { model: 'gpt-4o-mini', prompt: 'x' }],
      ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }],
      ['/v1/responses', { model: 'gpt-4o-mini', input: 'x' }],
    ];
    for (const [path, body] of requests) {
      t.mock.reset();
      t.mock.enqueue({ kind: 'status', status: 400, body: invalidValue });
      const res = await postJson(`${t.gw.url}${path}`, body);
      assert.equal(res.status, 400, path);
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      assert.equal(error.code, 'invalid_value', path);
      assert.equal(error.param, 'input', path);
      assert.equal(error.type, 'invalid_request_error', path);
      assert.match(String(error.message), /Invalid value\./, path);
      assert.equal(calls(t.mock), 1, path);
    }
  });

  test('404 model_not_found (one deployment) → NotFoundError with its code, not retried', async () => {
    t.mock.enqueue({ kind: 'status', status: 404, body: MODEL_NOT_FOUND });
    const err = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.NotFoundError, String(err));
    assert.equal(err.code, 'model_not_found');
    assert.match(err.message, /does not exist/);
    assert.equal(calls(t.mock), 1);
  });

  test('a 404 on the first deployment falls back to the next; a 400 does not', async () => {
    t.mock.enqueue({ kind: 'status', status: 404, body: MODEL_NOT_FOUND });
    const ok = await postJson(`${t.gw.url}/v1/chat/completions`, { model: 'smart', messages: userMessage() });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-provider'), 'anthropic');
    assert.equal(ok.headers.get('x-fallback-count'), '1');
    assert.deepEqual(
      t.mock.requests.map((r) => r.dialect),
      ['openai', 'anthropic'],
    );
    t.mock.reset();
    t.mock.enqueue({ kind: 'status', status: 400, body: CONTEXT_LENGTH });
    const bad = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'smart',
      messages: userMessage(),
    });
    assert.equal(bad.status, 400);
    assert.equal(calls(t.mock), 1);
  });

  test('413 from the provider → 413 request_too_large', async () => {
    t.mock.enqueue({ kind: 'status', status: 413, message: 'Request too large.' });
    const res = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 413);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(error.type, 'invalid_request_error');
    assert.equal(error.code, 'request_too_large');
    assert.match(String(error.message), /Request too large\./);
  });

  test('insufficient_quota → one upstream call, 429 insufficient_quota, x-should-retry false, no Retry-After', async () => {
    t.mock.enqueue(quotaFault, quotaFault, quotaFault, quotaFault);
    const res = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('x-should-retry'), 'false');
    assert.equal(res.headers.get('retry-after'), null);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(error.type, 'rate_limit_error');
    assert.equal(error.code, 'insufficient_quota');
    assert.match(String(error.message), /exceeded your current quota/);
    assert.equal(calls(t.mock), 1);

    // The SDK, retrying 429s by default, obeys the header: one call in all.
    t.mock.reset();
    t.mock.enqueue(quotaFault, quotaFault, quotaFault, quotaFault);
    const err = await client()
      .chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES })
      .catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.RateLimitError, String(err));
    assert.equal(err.code, 'insufficient_quota');
    assert.equal(calls(t.mock), 1);
  });

  test('insufficient_quota on the first deployment falls back to the next', async () => {
    t.mock.enqueue(quotaFault);
    const res = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'smart',
      messages: userMessage(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'anthropic');
    assert.deepEqual(
      t.mock.requests.map((r) => r.dialect),
      ['openai', 'anthropic'],
    );
  });

  test('a provider 429 after retries passes its retry-after-ms on, beside Retry-After', async () => {
    const limited = { kind: 'status', status: 429, headers: { 'retry-after-ms': '1500' } } as const;
    t.mock.enqueue(limited, limited, limited);
    const res = await postJson(`${t.gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after-ms'), '1500');
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal(res.headers.get('x-should-retry'), null);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(error.code, 'upstream_rate_limited');
  });
});

describe('Messages API: Anthropic statuses and types, request-id', () => {
  const t = useGateway();
  const client = (maxRetries = 0) => new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key', maxRetries });
  const create = (model: string, maxRetries = 0) =>
    client(maxRetries)
      .messages.create({ model, max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);

  test('passthrough 404 not_found_error → NotFoundError with type not_found_error and a requestID', async () => {
    t.mock.enqueue({ kind: 'status', status: 404, message: 'model: claude-x' });
    const err = await create('claude-3-5-haiku-latest');
    assert.ok(err instanceof Anthropic.NotFoundError, String(err));
    assert.equal(err.status, 404);
    assert.equal((err.error as { error: { type: string } }).error.type, 'not_found_error');
    assert.match(err.message, /model: claude-x/);
    assert.match(err.requestID ?? '', /^[0-9a-f-]{36}$/, 'request-id is set');
  });

  test('passthrough 413 → 413 request_too_large; 529 after retries → 529 overloaded_error', async () => {
    t.mock.enqueue({ kind: 'status', status: 413, message: 'Request exceeds the maximum size' });
    const big = await create('claude-3-5-haiku-latest');
    assert.ok(big instanceof Anthropic.APIError, String(big));
    assert.equal(big.status, 413);
    assert.equal((big.error as { error: { type: string } }).error.type, 'request_too_large');

    t.mock.reset();
    const overloaded = { kind: 'status', status: 529, message: 'Overloaded' } as const;
    t.mock.enqueue(overloaded, overloaded, overloaded);
    const busy = await create('claude-3-5-haiku-latest');
    assert.ok(busy instanceof Anthropic.APIError, String(busy));
    assert.equal(busy.status, 529);
    assert.equal((busy.error as { error: { type: string } }).error.type, 'overloaded_error');
    assert.equal(calls(t.mock), 3, 'the gateway retried it');
  });

  test('translated: 404 → not_found_error; a spent quota → 429 rate_limit_error, the SDK calls once', async () => {
    t.mock.enqueue({ kind: 'status', status: 404, body: MODEL_NOT_FOUND });
    const missing = await create('gpt-4o-mini');
    assert.ok(missing instanceof Anthropic.NotFoundError, String(missing));
    assert.equal((missing.error as { error: { type: string } }).error.type, 'not_found_error');

    t.mock.reset();
    t.mock.enqueue(quotaFault, quotaFault, quotaFault, quotaFault);
    const spent = await create('gpt-4o-mini', 2);
    assert.ok(spent instanceof Anthropic.RateLimitError, String(spent));
    assert.equal((spent.error as { error: { type: string } }).error.type, 'rate_limit_error');
    assert.match(spent.message, /exceeded your current quota/);
    assert.equal(calls(t.mock), 1);
  });

  test('a served Message carries _request_id (the gateway id, as in X-Gateway-Request-ID)', async () => {
    const promise = client().messages.create({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    const message = await promise;
    // The same answer (the promise keeps it): its headers.
    const { response } = await promise.withResponse();
    assert.equal(t.mock.requests.length, 1);
    assert.match(message._request_id ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(message._request_id, response.headers.get('x-gateway-request-id'));
  });
});
