import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AuthError,
  BadRequestError,
  InvalidRequestError,
  ProviderUnavailableError,
  QuotaExceededError,
} from '../../core/errors.js';
import { anthropicErrorBody, anthropicErrorStatus } from './errors.js';

const typeOf = (error: Parameters<typeof anthropicErrorBody>[0]) =>
  (anthropicErrorBody(error, null) as { error: { type: string } }).error.type;

describe('Messages errors: Anthropic statuses and types (docs/decisions/0206)', () => {
  test("a provider's 500 and 529 are passed on; other statuses are the gateway's", () => {
    const overloaded = new ProviderUnavailableError('busy', 'anthropic', {
      upstreamStatus: 529,
      upstreamType: 'overloaded_error',
    });
    assert.equal(anthropicErrorStatus(overloaded), 529);
    assert.equal(typeOf(overloaded), 'overloaded_error');
    const failed = new ProviderUnavailableError('boom', 'anthropic', {
      upstreamStatus: 500,
      upstreamType: 'api_error',
    });
    assert.equal(anthropicErrorStatus(failed), 500);
    assert.equal(typeOf(failed), 'api_error');
    const unavailable = new ProviderUnavailableError('down', 'openai', { upstreamStatus: 503 });
    assert.equal(anthropicErrorStatus(unavailable), 502);
    assert.equal(typeOf(unavailable), 'api_error');
  });

  test("the provider's type is kept only when it is Anthropic's type for the status the client gets", () => {
    const missing = new InvalidRequestError('no model', 'openai', {
      upstreamStatus: 404,
      upstreamType: 'invalid_request_error',
    });
    assert.equal(anthropicErrorStatus(missing), 404);
    assert.equal(typeOf(missing), 'not_found_error');
    const big = new InvalidRequestError('too big', 'anthropic', { upstreamStatus: 413 });
    assert.equal(typeOf(big), 'request_too_large');
    // The provider refused the gateway's key: a 401 for the client, not the provider's 403 type.
    const denied = new AuthError('key', 'anthropic', {
      upstreamStatus: 403,
      upstreamType: 'permission_error',
    });
    assert.equal(anthropicErrorStatus(denied), 401);
    assert.equal(typeOf(denied), 'authentication_error');
    const quota = new QuotaExceededError('spent', 'openai', {
      upstreamStatus: 429,
      upstreamType: 'insufficient_quota',
    });
    assert.equal(typeOf(quota), 'rate_limit_error');
    assert.equal(typeOf(new BadRequestError('bad')), 'invalid_request_error');
  });
});
