import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthError,
  InvalidRequestError,
  ProviderUnavailableError,
  QuotaExceededError,
  RateLimitError,
} from '../core/errors.js';
import { callHeaders, correlationHeaders, httpError } from './http.js';

const map = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  httpError('openai', status, headers, typeof body === 'string' ? body : JSON.stringify(body), 0);

describe('httpError: upstream statuses and bodies → the taxonomy (docs/decisions/0206)', () => {
  test("a rejected request keeps the provider's code, param and type; 400 stays 400", () => {
    const err = map(400, {
      error: {
        message: 'Too long.',
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    });
    assert.ok(err instanceof InvalidRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.clientCode, 'context_length_exceeded');
    assert.equal(err.code, 'upstream_bad_request');
    assert.equal(err.param, 'messages');
    assert.equal(err.upstreamType, 'invalid_request_error');
    assert.match(err.message, /^openai rejected the request \(HTTP 400\): Too long\.$/);
    assert.equal(err.isRetryable, false);
    assert.equal(err.mayFallBack, false);
  });

  test('404 and 413 keep their status; a 404 may fall back, other 4xx become 400', () => {
    const missing = map(404, { error: { message: 'No such model.', code: 'model_not_found' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.clientCode, 'model_not_found');
    assert.equal(missing.mayFallBack, true);
    assert.equal(missing.isRetryable, false);
    const big = map(413, 'Request Entity Too Large');
    assert.equal(big.status, 413);
    assert.equal(big.clientCode, 'request_too_large');
    assert.equal(map(422, {}).status, 400);
    assert.equal(map(409, {}).status, 400);
  });

  test('codes that are not short strings are not passed on (Gemini sends the status as a number)', () => {
    const err = map(400, { error: { code: 400, message: 'Bad.', status: 'INVALID_ARGUMENT' } });
    assert.equal(err.clientCode, 'upstream_bad_request');
    assert.equal(err.param, null);
    assert.equal(map(400, { error: { code: 'x'.repeat(201) } }).clientCode, 'upstream_bad_request');
    assert.equal(map(400, 'not json').clientCode, 'upstream_bad_request');
    assert.equal(map(400, 'null').clientCode, 'upstream_bad_request');
  });

  test('a 429 for a spent quota (code or type) is not a rate limit; other 429s are', () => {
    for (const error of [{ code: 'insufficient_quota' }, { type: 'insufficient_quota', code: null }]) {
      const err = map(429, { error: { message: 'You exceeded your current quota.', ...error } });
      assert.ok(err instanceof QuotaExceededError);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'insufficient_quota');
      assert.equal(err.type, 'rate_limit_error');
      assert.equal(err.isRetryable, false);
      assert.equal(err.mayFallBack, true);
      assert.equal(err.retryAfterMs, undefined);
    }
    const limited = map(429, { error: { code: 'rate_limit_exceeded' } }, { 'retry-after-ms': '1500' });
    assert.ok(limited instanceof RateLimitError);
    assert.equal(limited.retryAfterMs, 1500);
    assert.equal(limited.clientCode, 'upstream_rate_limited');
  });

  test('auth failures and 5xx keep their mapping, with the upstream type recorded', () => {
    assert.ok(map(401, {}) instanceof AuthError);
    assert.equal(map(403, {}).mayFallBack, true, 'another deployment has its own credentials');
    assert.equal(map(403, {}).isRetryable, false);
    // Only Gemini's 400 says API_KEY_INVALID for a bad key; another status keeps its own meaning.
    const reason = { error: { message: 'x', details: [{ reason: 'API_KEY_INVALID' }] } };
    assert.ok(map(400, reason) instanceof AuthError);
    assert.ok(map(500, reason) instanceof ProviderUnavailableError);
    const overloaded = map(529, {
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    assert.ok(overloaded instanceof ProviderUnavailableError);
    assert.equal(overloaded.status, 502);
    assert.equal(overloaded.upstreamType, 'overloaded_error');
  });

  test("Google's error details: API_KEY_INVALID is an auth failure, RetryInfo is the retry delay", () => {
    const badKey = httpError(
      'gemini',
      400,
      {},
      JSON.stringify({
        error: {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
        },
      }),
      0,
      'GEMINI_API_KEY',
    );
    assert.ok(badKey instanceof AuthError);
    assert.equal(badKey.status, 401);
    assert.match(badKey.message, /API key not valid\..*Check GEMINI_API_KEY\.$/);
    const quota = {
      error: {
        code: 429,
        message: 'Quota exceeded. Please retry in 37.5s.',
        status: 'RESOURCE_EXHAUSTED',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [] },
          { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '37s' },
        ],
      },
    };
    assert.equal(map(429, quota).retryAfterMs, 37_000);
    // A header wins over the body; a malformed delay is ignored.
    assert.equal(map(429, quota, { 'retry-after': '2' }).retryAfterMs, 2000);
    const odd = structuredClone(quota);
    (odd.error.details[1] as { retryDelay: string }).retryDelay = '37 seconds';
    assert.equal(map(429, odd).retryAfterMs, undefined);
  });

  test("a 401/403 keeps the provider's words, without the key it quotes", () => {
    const denied = map(403, { error: { message: 'Model gpt-5 is not available to your organization.' } });
    assert.match(denied.message, /HTTP 403\)\. Model gpt-5 is not available to your organization\.$/);
    const wrong = map(401, {
      error: {
        message: 'Incorrect API key provided: sk-proj-********************abcd. You can find your key…',
      },
    });
    assert.ok(!wrong.message.includes('abcd'), wrong.message);
    // Words that merely start like a key prefix stay.
    const words = map(403, { error: { message: 'Request skipped: pkgs and xairline are not keys.' } });
    assert.match(words.message, /Request skipped: pkgs and xairline are not keys\.$/);
    assert.match(wrong.message, /Incorrect API key provided: \[redacted\]\./);
  });
});

describe('correlation headers', () => {
  const call = { model: 'm', signal: new AbortController().signal, requestId: 'r1' };
  const traced = { ...call, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

  test('tracestate goes upstream with traceparent (every adapter: both builders)', () => {
    const withState = { ...traced, tracestate: 'vendor=abc' };
    const expected = { 'x-request-id': 'r1', traceparent: traced.traceparent, tracestate: 'vendor=abc' };
    assert.deepEqual(correlationHeaders(withState), expected);
    assert.deepEqual(callHeaders({ authorization: 'Bearer k' }, withState), {
      authorization: 'Bearer k',
      ...expected,
    });
  });

  test('no tracestate without one, and none without a traceparent', () => {
    assert.deepEqual(correlationHeaders(traced), { 'x-request-id': 'r1', traceparent: traced.traceparent });
    assert.deepEqual(correlationHeaders({ ...call, tracestate: 'vendor=abc' }), { 'x-request-id': 'r1' });
    assert.deepEqual(callHeaders({}, { ...call, tracestate: 'vendor=abc' }), { 'x-request-id': 'r1' });
  });
});
