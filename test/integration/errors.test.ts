/**
 * DESIGN §3's status table, row by row, through a real gateway and the mock upstream: every error is an
 * OpenAI envelope with exactly message/type/param/code and carries X-Request-ID.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { expectError } from '../helpers/errors.js';
import { type FakeClock, fakeClock } from '../helpers/fake-clock.js';
import {
  postJson,
  type StartOptions,
  startGateway,
  TEST_KEYS,
  type TestGateway,
  userMessage,
} from '../helpers/gateway.js';

let mock: MockUpstream;
before(async () => {
  mock = await MockUpstream.start();
});
after(() => mock.close());
beforeEach(() => mock.reset());

/** Starts a gateway for one describe block and closes it after. */
function gatewayFor(options: Omit<StartOptions, 'mock'> = {}): { url: () => string } {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mock, ...options });
  });
  after(() => gw.close());
  return { url: () => `${gw.url}/v1/chat/completions` };
}

const chat = (model = 'gpt-4o-mini') => ({ model, messages: userMessage() });

describe('request errors and upstream failures (default retry policy, fake clock)', () => {
  const clock: FakeClock = fakeClock();
  // The production retry policy: 500 ms base, 30 s cap; the fake clock makes the waits free.
  const gw = gatewayFor({ clock, env: { LLM_RETRY_BASE_MS: '500', LLM_RETRY_MAX_MS: '30000' } });
  beforeEach(() => {
    clock.waits.length = 0;
  });

  test('body that is not JSON → 400 invalid_json', async () => {
    const res = await postJson(gw.url(), '{"model": "gpt-4o", "messages": [');
    await expectError(res, { status: 400, type: 'invalid_request_error', code: 'invalid_json', param: null });
    // The parser's position helps find the fault; the body itself is never echoed.
    const bad = await postJson(gw.url(), '{"model": "SECRET-x", bad}');
    const body = await expectError(bad, { status: 400, type: 'invalid_request_error', code: 'invalid_json' });
    assert.match(body.error.message, /^The request body is not valid JSON( \(at position \d+\))?\.$/);
    // A prototype-poisoning key is named as the reason.
    const poisoned = await postJson(
      gw.url(),
      '{"model": "gpt-4o", "__proto__": {"admin": true}, "messages": []}',
    );
    await expectError(poisoned, {
      status: 400,
      type: 'invalid_request_error',
      code: 'invalid_json',
      message: /"__proto__" or "constructor.prototype" key/,
    });
    assert.equal(mock.requests.length, 0);
  });

  const violations: Array<[string, Record<string, unknown>, string]> = [
    ['missing model', { messages: userMessage() }, 'model'],
    ['missing messages', { model: 'gpt-4o' }, 'messages'],
    ['empty messages', { model: 'gpt-4o', messages: [] }, 'messages'],
    ['messages not an array', { model: 'gpt-4o', messages: 'hi' }, 'messages'],
    ['invalid role', { model: 'gpt-4o', messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    ['temperature 3', { ...chat(), temperature: 3 }, 'temperature'],
    ['max_tokens of the wrong type', { ...chat(), max_tokens: 'ten' }, 'max_tokens'],
    [
      'unknown content part type',
      { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'video', video: 'x' }] }] },
      'messages[0].content[0].type',
    ],
    [
      'image part without url',
      { model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] },
      'messages[0].content[0].image_url.url',
    ],
    [
      'tool_choice naming a tool that is not in tools',
      {
        ...chat(),
        tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      },
      'tool_choice.function.name',
    ],
  ];
  for (const [name, body, param] of violations) {
    test(`schema violation: ${name} → 422 naming ${param}`, async () => {
      const res = await postJson(gw.url(), body);
      const { error } = await expectError(res, {
        status: 422,
        type: 'invalid_request_error',
        code: 'invalid_request',
        param,
      });
      const field = param.split(/[.[]/)[0] as string;
      assert.ok(error.message.includes(field), `message names the field: ${error.message}`);
      assert.equal(mock.requests.length, 0, 'nothing malformed reaches a provider');
    });
  }

  test('unknown model → 400 model_not_found', async () => {
    const res = await postJson(gw.url(), chat('no-such-model'));
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
      message: /no-such-model/,
    });
    assert.equal(mock.requests.length, 0);
  });

  test('provider rejected the request (400) → 400 with its message, not retried', async () => {
    mock.enqueue({ kind: 'status', status: 400, message: "Invalid value for 'logit_bias'." });
    const res = await postJson(gw.url(), chat());
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'upstream_bad_request',
      message: /Invalid value for 'logit_bias'\./,
    });
    assert.equal(mock.requests.length, 1);
    assert.deepEqual(clock.waits, []);
  });

  test('provider 429 after retries → 429 rate_limit_error with Retry-After, its waits honoured', async () => {
    mock.enqueue(
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'status', status: 429, retryAfter: '1' },
    );
    const res = await postJson(gw.url(), chat());
    await expectError(res, { status: 429, type: 'rate_limit_error', code: 'upstream_rate_limited' });
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(mock.requests.length, 3);
    assert.deepEqual(clock.waits, [1000, 1000], 'Retry-After waited exactly, twice');
  });

  test('provider 429 with a Retry-After beyond the cap → 429 at once, Retry-After passed on', async () => {
    mock.enqueue({ kind: 'status', status: 429, retryAfter: '120' });
    const res = await postJson(gw.url(), chat());
    await expectError(res, { status: 429, type: 'rate_limit_error' });
    assert.equal(res.headers.get('retry-after'), '120');
    assert.equal(mock.requests.length, 1);
    assert.deepEqual(clock.waits, []);
  });

  test('provider 429 without Retry-After → 429 still tells the client when to retry', async () => {
    mock.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })));
    const res = await postJson(gw.url(), chat());
    await expectError(res, { status: 429, type: 'rate_limit_error', code: 'upstream_rate_limited' });
    // No provider hint: the gateway's own next backoff ceiling, 500 ms · 2², in whole seconds.
    assert.equal(res.headers.get('retry-after'), '2');
    assert.equal(mock.requests.length, 3);
    assert.deepEqual(clock.waits, [250, 500], 'jittered backoff when the provider gives no Retry-After');
  });

  test('provider 401 → 401 provider_authentication_error naming the env variable, never the key', async () => {
    mock.enqueue({
      kind: 'status',
      status: 401,
      message: `Incorrect API key provided: ${TEST_KEYS.openai}.`,
    });
    const res = await postJson(gw.url(), chat());
    const body = await expectError(res, {
      status: 401,
      type: 'provider_authentication_error',
      code: 'provider_auth_failed',
      message: /OPENAI_API_KEY/,
    });
    assert.ok(!JSON.stringify(body).includes(TEST_KEYS.openai));
    assert.ok(!JSON.stringify(body).includes('SECRET'));
    assert.equal(mock.requests.length, 1, 'not retried');
  });

  test('provider 5xx → 502 provider_unavailable_error after 3 attempts', async () => {
    mock.enqueue(
      { kind: 'status', status: 503 },
      { kind: 'status', status: 500 },
      { kind: 'status', status: 502 },
    );
    const res = await postJson(gw.url(), chat());
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      code: 'provider_unavailable',
      message: /HTTP 502/,
    });
    assert.equal(mock.requests.length, 3);
    // Full jitter with random 0.5: half of 500, then half of 1000.
    assert.deepEqual(clock.waits, [250, 500]);
  });

  test('upstream answers 200 with invalid JSON → 502', async () => {
    mock.enqueue({ kind: 'invalid-json' }, { kind: 'invalid-json' }, { kind: 'invalid-json' });
    const res = await postJson(gw.url(), chat());
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      code: 'provider_unavailable',
      message: /not valid JSON/,
    });
    assert.equal(mock.requests.length, 3);
  });
});

describe('provider timeout', () => {
  const gw = gatewayFor({ env: { LLM_TIMEOUT: '0.2', LLM_MAX_RETRIES: '1' } });

  test('an upstream that never answers → 504 timeout_error, the upstream call aborted', async () => {
    mock.enqueue({ kind: 'hang' });
    const started = performance.now();
    const res = await postJson(gw.url(), chat());
    await expectError(res, { status: 504, type: 'timeout_error', code: 'upstream_timeout' });
    assert.ok(performance.now() - started < 5_000);
    assert.equal(mock.requests.length, 1);
    await mock.requests[0]?.done;
    assert.equal(mock.requests[0]?.closedEarly, true);
  });
});

describe('provider not configured', () => {
  const gw = gatewayFor({ env: { ANTHROPIC_API_KEY: undefined } });

  test('a model of a provider without a key → 400 naming the env variable', async () => {
    const res = await postJson(gw.url(), chat('claude-3-5-haiku-latest'));
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'provider_not_configured',
      param: 'model',
      message: /ANTHROPIC_API_KEY/,
    });
    assert.equal(mock.requests.length, 0);
  });
});

describe('unreachable provider', () => {
  let closedPort = 0;
  before(async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closedPort = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const clock = fakeClock();
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ mock, clock, env: { OPENAI_BASE_URL: `http://127.0.0.1:${closedPort}/v1` } });
  });
  after(() => gw.close());

  test('connection refused → 502 provider_unavailable_error after retries', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, chat());
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      code: 'provider_unavailable',
      message: /could not be reached/,
    });
    assert.equal(clock.waits.length, 2, 'three attempts, two waits');
  });
});

describe('an upstream answering 200 with JSON of the wrong shape', () => {
  // path → body of every answer (OpenAI-compatible and Anthropic dialects on one server).
  const bodies = new Map<string, string>();
  let upstream: Server;
  let gw: TestGateway;
  before(async () => {
    upstream = createHttpServer((req, res) => {
      req.resume().on('end', () => {
        const sse = (req.headers.accept ?? '').includes('text/event-stream');
        res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json' });
        res.end(bodies.get(`${req.url}${sse ? ' stream' : ''}`) ?? '{}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    gw = await startGateway({
      mock,
      clock: fakeClock(),
      env: { OPENAI_BASE_URL: `${base}/v1`, ANTHROPIC_BASE_URL: base, LLM_MAX_RETRIES: '1' },
    });
  });
  after(async () => {
    await gw.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  const cases: Array<[name: string, path: string, body: string, model: string, stream: boolean]> = [
    ['a null choice', '/v1/chat/completions', '{"id":"x","choices":[null]}', 'gpt-4o-mini', false],
    ['a null stream chunk', '/v1/chat/completions stream', 'data: null\n\n', 'gpt-4o-mini', true],
    [
      'a null choice in a chunk',
      '/v1/chat/completions stream',
      'data: {"choices":[null]}\n\n',
      'gpt-4o-mini',
      true,
    ],
    ['a null content block', '/v1/messages', '{"id":"m","content":[null]}', 'claude-haiku-4-5', false],
  ];
  for (const [name, path, body, model, stream] of cases) {
    test(`${name} → 502 provider_unavailable_error, not a 500`, async () => {
      bodies.set(path, body);
      const res = await postJson(`${gw.url}/v1/chat/completions`, { ...chat(model), stream });
      await expectError(res, {
        status: 502,
        type: 'provider_unavailable_error',
        code: 'provider_unavailable',
      });
    });
  }
});

describe('gateway keys', () => {
  const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');
  const KEYS = { good: 'gw-good-0123456789', revoked: 'gw-revoked-0123456789', expired: 'gw-expired-012345' };
  const gw = gatewayFor({
    yaml: `auth:
  mode: keys
  keys:
    - { name: good, key_sha256: ${sha256(KEYS.good)}, user_id: alice, allowed_models: [gpt-4o-mini] }
    - { name: old, key_sha256: ${sha256(KEYS.revoked)}, user_id: bob, revoked: true }
    - { name: temp, key_sha256: ${sha256(KEYS.expired)}, user_id: carol, expires_at: "2020-01-01T00:00:00Z" }
`,
  });
  const as = (key: string | null, model = 'gpt-4o-mini') =>
    postJson(gw.url(), chat(model), key === null ? {} : { authorization: `Bearer ${key}` });

  test('a valid key may use its allowed model', async () => {
    const res = await as(KEYS.good);
    assert.equal(res.status, 200);
    assert.equal(mock.requests.length, 1);
  });

  const rejected: Array<[string, string | null, RegExp]> = [
    ['missing key', null, /Authorization: Bearer/],
    ['unknown key', 'gw-not-a-key-000000', /Invalid API key/],
    ['revoked key', KEYS.revoked, /revoked/],
    ['expired key', KEYS.expired, /expired/],
  ];
  for (const [name, key, message] of rejected) {
    test(`${name} → 401 authentication_error`, async () => {
      const res = await as(key);
      const body = await expectError(res, {
        status: 401,
        type: 'authentication_error',
        code: 'invalid_api_key',
        message,
      });
      if (key) assert.ok(!JSON.stringify(body).includes(key), 'the key is not echoed');
      assert.equal(mock.requests.length, 0);
    });
  }

  test('a scheme other than Bearer → 401', async () => {
    const res = await postJson(gw.url(), chat(), { authorization: `Basic ${KEYS.good}` });
    await expectError(res, { status: 401, type: 'authentication_error' });
  });

  test('a key not allowed to use the model → 403 permission_error', async () => {
    const res = await as(KEYS.good, 'gpt-4o');
    await expectError(res, {
      status: 403,
      type: 'permission_error',
      code: 'model_not_allowed',
      param: 'model',
      message: /gpt-4o/,
    });
    assert.equal(mock.requests.length, 0);
  });
});

describe('body size limit', () => {
  const gw = gatewayFor({ env: { MAX_BODY_BYTES: '2048' } });

  test('a body over MAX_BODY_BYTES → 413; one under it is served', async () => {
    const big = await postJson(gw.url(), { model: 'gpt-4o-mini', messages: userMessage('x'.repeat(4096)) });
    await expectError(big, {
      status: 413,
      type: 'invalid_request_error',
      code: 'request_too_large',
      message: /2048 bytes/,
    });
    assert.equal(mock.requests.length, 0);
    const small = await postJson(gw.url(), { model: 'gpt-4o-mini', messages: userMessage('x'.repeat(1024)) });
    assert.equal(small.status, 200);
  });
});

describe('an upstream answer larger than upstream.max_response_bytes', () => {
  const gw = gatewayFor({
    clock: fakeClock(),
    yaml: 'upstream:\n  max_response_bytes: 4096\n',
    env: { LLM_MAX_RETRIES: '1' },
  });

  test('is cut off and reported as 502, not buffered without bound', async () => {
    mock.setAnswer({ text: 'x'.repeat(20_000) });
    const res = await postJson(gw.url(), chat());
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      code: 'provider_unavailable',
      message: /larger than the gateway accepts/,
    });
  });
});
