import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { errorCodes } from 'fastify';
import {
  GatewayError,
  GatewayRateLimitError,
  InternalError,
  InvalidRequestError,
  OversizedRequestTimeoutError,
  QuotaExceededError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
  ValidationError,
} from '../core/errors.js';
import { ChatRequestSchema } from '../endpoints/chat/schema.js';
import { normalizeError, retryAfterSeconds, retryHeaders, toErrorBody, toParam } from './error-envelope.js';

const LIMIT = 2048;

/** The body validator as Fastify builds it (@fastify/ajv-compiler defaults + the app's customOptions). */
const validate = new Ajv({
  coerceTypes: false,
  useDefaults: false,
  removeAdditional: false,
  allErrors: false,
  discriminator: true,
  strict: false,
}).compile(ChatRequestSchema);

/** What a client gets for a body Fastify's schema validation rejects. */
function rejectBody(body: unknown): GatewayError {
  assert.equal(validate(body), false, `expected ${JSON.stringify(body)} to be invalid`);
  return normalizeError(Object.assign(new Error('validation'), { validation: validate.errors }), LIMIT);
}

const user = [{ role: 'user', content: 'hi' }];

describe('toParam', () => {
  test('JSON pointer → OpenAI param notation', () => {
    assert.equal(toParam(''), '');
    assert.equal(toParam('/model'), 'model');
    assert.equal(toParam('/messages/0/content/1/type'), 'messages[0].content[1].type');
    assert.equal(toParam('/tools/12/function/name'), 'tools[12].function.name');
    assert.equal(toParam('/0'), '[0]');
  });

  test('escaped pointer segments are unescaped (~1 → /, ~0 → ~)', () => {
    assert.equal(toParam('/metadata/a~1b'), 'metadata.a/b');
    assert.equal(toParam('/metadata/x~0y'), 'metadata.x~y');
    assert.equal(toParam('/metadata/~01'), 'metadata.~1', '~01 is "~1", not "/"');
  });
});

describe('a client value quoted in a 422 is bounded (decision 0238)', () => {
  const big = 'x'.repeat(9_000_000);

  test('an invalid role or part type of 9 MB: 64 characters, an ellipsis and the length', () => {
    for (const [body, param] of [
      [{ model: 'm', messages: [{ role: big, content: 'x' }] }, 'messages[0].role'],
      [
        { model: 'm', messages: [{ role: 'user', content: [{ type: big, text: 'x' }] }] },
        'messages[0].content[0].type',
      ],
      [{ model: 'm', messages: user, response_format: { type: big } }, 'response_format.type'],
    ] as const) {
      const err = rejectBody(body);
      assert.equal(err.param, param);
      assert.equal(err.message, `${param} has an invalid value "${'x'.repeat(64)}…" (9000000 characters).`);
    }
  });

  test('a short invalid value is quoted whole', () => {
    const err = rejectBody({ model: 'm', messages: [{ role: 'robot', content: 'x' }] });
    assert.equal(err.message, 'messages[0].role has an invalid value "robot".');
  });

  test('a client key in param is cut to 64 characters', () => {
    assert.equal(toParam(`/metadata/${'k'.repeat(100_000)}`), `metadata.${'k'.repeat(64)}…`);
  });
});

describe('normalizeError: schema violations → 422 naming the field', () => {
  const cases: Array<[what: string, body: unknown, param: string | null, message: RegExp]> = [
    ['missing model', { messages: user }, 'model', /^model is required\.$/],
    ['missing messages', { model: 'm' }, 'messages', /^messages is required\.$/],
    ['empty messages', { model: 'm', messages: [] }, 'messages', /^messages must NOT have fewer than 1/],
    [
      'unknown role',
      { model: 'm', messages: [{ role: 'robot', content: 'x' }] },
      'messages[0].role',
      /invalid value "robot"/,
    ],
    [
      'missing role',
      { model: 'm', messages: [{ content: 'x' }] },
      'messages[0].role',
      /^messages\[0\]\.role is required\.$/,
    ],
    [
      'role not a string',
      { model: 'm', messages: [{ role: 7, content: 'x' }] },
      'messages[0].role',
      /must be a string/,
    ],
    [
      'temperature too high',
      { model: 'm', messages: user, temperature: 2.5 },
      'temperature',
      /^temperature must be <= 2\.$/,
    ],
    [
      'temperature mistyped',
      { model: 'm', messages: user, temperature: 'hot' },
      'temperature',
      /^temperature must be of type number or null\.$/,
    ],
    [
      'unknown content part',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'video' }] }] },
      'messages[0].content[0].type',
      /invalid value "video"/,
    ],
    [
      'empty image url',
      { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: '' } }] }] },
      'messages[0].content[0].image_url.url',
      /must NOT have fewer than 1 characters/,
    ],
    [
      'tool message without id',
      { model: 'm', messages: [{ role: 'tool', content: 'x' }] },
      'messages[0].tool_call_id',
      /is required/,
    ],
    [
      'bad tool_choice',
      { model: 'm', messages: user, tool_choice: 'sometimes' },
      'tool_choice',
      /one of "none", "auto", "required" or of type object/,
    ],
    [
      'too many stop sequences',
      { model: 'm', messages: user, stop: ['a', 'b', 'c', 'd', 'e'] },
      'stop',
      /must NOT have more than 4 items/,
    ],
    [
      'bad response_format',
      { model: 'm', messages: user, response_format: { type: 'yaml' } },
      'response_format.type',
      /invalid value "yaml"/,
    ],
    [
      'metadata key with a slash',
      { model: 'm', messages: user, metadata: { 'a/b': 5 } },
      'metadata.a/b',
      /must be of type string/,
    ],
    ['n not an integer', { model: 'm', messages: user, n: 1.5 }, 'n', /integer/],
    ['body not an object', 'just a string', null, /^body must be of type object\.$/],
    ['body an array', [], null, /^body must be of type object\.$/],
  ];
  for (const [what, body, param, message] of cases) {
    test(what, () => {
      const err = rejectBody(body);
      assert.ok(err instanceof ValidationError);
      assert.equal(err.status, 422);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.param, param);
      assert.match(err.message, message);
      if (param) assert.ok(err.message.includes(param), 'the message names the field');
    });
  }

  test('the deepest error wins; on a tie the first one', () => {
    const err = normalizeError(
      {
        validation: [
          { instancePath: '/a', keyword: 'type', params: { type: 'string' }, message: 'must be string' },
          { instancePath: '/a/b/0', keyword: 'minimum', params: {}, message: 'must be >= 0' },
          { instancePath: '/a/c/1', keyword: 'maximum', params: {}, message: 'must be <= 1' },
        ],
      },
      LIMIT,
    );
    assert.equal(err.param, 'a.b[0]');
    assert.equal(err.message, 'a.b[0] must be >= 0.');
  });

  test('enum errors list the allowed values', () => {
    const err = normalizeError(
      {
        validation: [
          {
            instancePath: '/detail',
            keyword: 'enum',
            params: { allowedValues: ['auto', 'low'] },
            message: 'must be equal to one of the allowed values',
          },
        ],
      },
      LIMIT,
    );
    assert.equal(err.message, 'detail must be one of "auto", "low".');
  });
});

describe('normalizeError: Fastify and runtime errors → gateway errors', () => {
  const cases: Array<[what: string, err: unknown, status: number, code: string]> = [
    ['invalid JSON', new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), 400, 'invalid_json'],
    ['empty JSON body', new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), 400, 'invalid_json'],
    ['body too large', new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), 413, 'request_too_large'],
    [
      'unsupported media type',
      new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(),
      415,
      'unsupported_media_type',
    ],
    ['content-length mismatch', new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), 400, 'invalid_request'],
    ['not found', new errorCodes.FST_ERR_NOT_FOUND(), 404, 'not_found'],
    ['a bare SyntaxError', new SyntaxError('Unexpected token'), 400, 'invalid_json'],
    ['another 4xx from Fastify', new errorCodes.FST_ERR_BAD_URL('%zz'), 400, 'invalid_request'],
    ['an unexpected Error', new Error('db password is hunter2'), 500, 'internal_error'],
    ['a Fastify 5xx', new errorCodes.FST_ERR_ASYNC_CONSTRAINT(), 500, 'internal_error'],
    ['a thrown string', 'boom', 500, 'internal_error'],
    ['a thrown null', null, 500, 'internal_error'],
    ['a thrown undefined', undefined, 500, 'internal_error'],
  ];
  for (const [what, err, status, code] of cases) {
    test(what, () => {
      const out = normalizeError(err, LIMIT);
      assert.ok(out instanceof GatewayError);
      assert.equal(out.status, status);
      assert.equal(out.code, code);
    });
  }

  test('a Content-Type Fastify cannot parse: the 415 names what was sent (an empty header too)', () => {
    const invalid = new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE();
    const both = normalizeError(invalid, LIMIT, 'application/json, text/plain');
    assert.equal(both.status, 415);
    assert.match(both.message, /received Content-Type "application\/json, text\/plain"/);
    assert.match(normalizeError(invalid, LIMIT, '').message, /received an empty Content-Type header/);
    assert.match(normalizeError(invalid, LIMIT).message, /received a body without Content-Type/);
  });

  test('body too large names the limit', () => {
    assert.match(normalizeError(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), LIMIT).message, /2048 bytes/);
  });

  test('an unexpected error does not leak its message or stack', () => {
    const out = normalizeError(new Error('db password is hunter2'), LIMIT);
    assert.ok(out instanceof InternalError);
    const body = JSON.stringify(toErrorBody(out, (t) => t));
    assert.ok(!body.includes('hunter2'));
    assert.ok(!body.includes('at '), 'no stack');
  });

  test('a GatewayError passes through unchanged', () => {
    const err = new ServiceUnavailableError('shutting down');
    assert.equal(normalizeError(err, LIMIT), err);
  });
});

describe('toErrorBody and retryAfterSeconds', () => {
  test('the OpenAI envelope, with secrets scrubbed from the message', () => {
    const err = new RateLimitError('openai rate limit reached: bad key sk-123', 'openai', { param: 'model' });
    const body = toErrorBody(err, (t) => t.replaceAll('sk-123', '[redacted]'));
    assert.deepEqual(body, {
      error: {
        message: 'openai rate limit reached: bad key [redacted]',
        type: 'rate_limit_error',
        param: 'model',
        code: 'upstream_rate_limited',
      },
    });
  });

  test("a provider's own code and param go to the client, scrubbed like its message", () => {
    const err = new InvalidRequestError('openai rejected the request (HTTP 400): too long', 'openai', {
      upstreamStatus: 400,
      param: 'messages.sk-123',
      clientCode: 'context_length_exceeded',
    });
    const body = toErrorBody(err, (t) => t.replaceAll('sk-123', '[redacted]'));
    assert.deepEqual(body.error, {
      message: 'openai rejected the request (HTTP 400): too long',
      type: 'invalid_request_error',
      param: 'messages.[redacted]',
      code: 'context_length_exceeded',
    });
    assert.equal(err.code, 'upstream_bad_request', 'logs and metrics keep the catalogue code');
  });

  test('Retry-After is whole seconds, at least 1, absent when unknown', () => {
    const after = (ms?: number) => retryAfterSeconds(new RateLimitError('x', 'p', { retryAfterMs: ms }));
    assert.equal(after(undefined), undefined);
    assert.equal(after(0), 1);
    assert.equal(after(1), 1);
    assert.equal(after(1000), 1);
    assert.equal(after(1001), 2);
    assert.equal(after(30_000), 30);
  });
});

describe('retryHeaders', () => {
  test('Retry-After on 429, 502 and 503; x-should-retry: false when a retry cannot succeed soon', () => {
    const limit = (ms: number) => new GatewayRateLimitError('slow down', ms, 'rate_limit_exceeded');
    assert.deepEqual(retryHeaders(limit(2_000)), { 'retry-after': '2' });
    assert.deepEqual(retryHeaders(limit(60_000)), { 'retry-after': '60' });
    // Beyond what the SDKs wait: they would retry at once, twice, and be refused again.
    assert.deepEqual(retryHeaders(limit(61_000)), { 'retry-after': '61', 'x-should-retry': 'false' });
    const budget = new GatewayRateLimitError('spent', 3_000, 'budget_exceeded', 'key');
    assert.deepEqual(retryHeaders(budget), { 'retry-after': '3', 'x-should-retry': 'false' });
    assert.deepEqual(retryHeaders(new RateLimitError('upstream', 'openai', {})), {});
    // A provider's 429: its exact wait too, which the SDKs prefer.
    assert.deepEqual(retryHeaders(new RateLimitError('upstream', 'openai', { retryAfterMs: 1500 })), {
      'retry-after': '2',
      'retry-after-ms': '1500',
    });
    // A spent provider quota: no wait helps.
    assert.deepEqual(retryHeaders(new QuotaExceededError('no quota', 'openai', { upstreamStatus: 429 })), {
      'x-should-retry': 'false',
    });
    assert.deepEqual(retryHeaders(new ServiceUnavailableError('shutting down')), {});
    assert.equal(retryHeaders(new InvalidRequestError('bad', 'openai', { upstreamStatus: 400 })), null);
    assert.equal(retryHeaders(new InternalError('boom')), null);
  });

  test('the 504 of a request too large for its time says x-should-retry: false; other timeouts do not', () => {
    assert.deepEqual(retryHeaders(new OversizedRequestTimeoutError('too big', 'openai')), {
      'x-should-retry': 'false',
    });
    assert.equal(retryHeaders(new TimeoutError('slow', 'openai')), null);
  });
});
