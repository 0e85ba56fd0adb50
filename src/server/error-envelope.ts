/**
 * The one place that turns errors into OpenAI's error body `{"error": {message, type, param, code}}`, and
 * Fastify's own errors (bad JSON, body too large, schema violations) into the gateway's catalogue.
 */
import type { FastifyError } from 'fastify';
import {
  BadRequestError,
  GatewayError,
  InternalError,
  NotFoundError,
  OversizedRequestTimeoutError,
  PayloadTooLargeError,
  ProviderError,
} from '../core/errors.js';
import { type AjvError, fromValidation } from '../endpoints/validation.js';
import type { Redactor } from '../telemetry/logger.js';
import { unsupportedMediaType } from './content-type.js';

export { toParam } from '../endpoints/validation.js';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/**
 * The envelope for an error; provider texts are scrubbed of secrets (the message, and a provider's own
 * `param` and `code`, which the answer passes on: docs/decisions/0206).
 */
export function toErrorBody(err: GatewayError, redact: Redactor): ErrorBody {
  const fromProvider = err instanceof ProviderError;
  const param = err.param;
  return {
    error: {
      message: redact(err.message),
      type: err.type,
      param: fromProvider && param !== null ? redact(param) : param,
      code: fromProvider ? redact(err.clientCode) : err.clientCode,
    },
  };
}

/**
 * The longest `Retry-After` the OpenAI and Anthropic SDKs wait for (they retry 429s and 5xx by themselves,
 * at most this long apart, unless the answer says `x-should-retry: false`).
 */
const SDK_LONGEST_WAIT_S = 60;

/**
 * The retry headers of an error answer: `Retry-After` (429, 502, 503), and `x-should-retry: false` on a
 * 429 that a retry cannot cure soon — a budget or a provider quota that is spent, or a limit that frees up
 * only after more than a minute. The SDKs would otherwise send the same request again a few seconds later,
 * twice, and be refused again (decisions 0181, 0206). A provider's 429 also carries `retry-after-ms`, the
 * exact wait, which the SDKs prefer to the whole seconds of `Retry-After`. The 504 of a request too large
 * for its time (`OversizedRequestTimeoutError`, decision 0083) says `x-should-retry: false` too: it would
 * time out again, and every attempt may be billed.
 */
export function retryHeaders(err: GatewayError): Record<string, string> | null {
  if (err instanceof OversizedRequestTimeoutError) return { 'x-should-retry': 'false' };
  const seconds = retryAfterSeconds(err);
  const status = err.status;
  if (status !== 429 && status !== 502 && status !== 503) return null;
  const headers: Record<string, string> = {};
  if (seconds !== undefined) headers['retry-after'] = String(seconds);
  if (status !== 429) return headers;
  const code = err.code;
  if (code === 'budget_exceeded' || code === 'insufficient_quota' || (seconds ?? 0) > SDK_LONGEST_WAIT_S) {
    headers['x-should-retry'] = 'false';
  } else if (err.retryAfterMs !== undefined && err instanceof ProviderError) {
    headers['retry-after-ms'] = String(Math.ceil(err.retryAfterMs));
  }
  return headers;
}

/** Whole seconds for `Retry-After`, never 0 when set. */
export function retryAfterSeconds(err: GatewayError): number | undefined {
  if (err.retryAfterMs === undefined) return undefined;
  return Math.max(1, Math.ceil(err.retryAfterMs / 1000));
}

/**
 * Maps anything a route or Fastify threw to a `GatewayError`. `contentType` is the request's header: the
 * 415 of a header Fastify cannot parse (`application/json, text/plain`, an empty one) names it too.
 */
export function normalizeError(err: unknown, bodyLimit: number, contentType?: string): GatewayError {
  if (err instanceof GatewayError) return err;
  // `throw null` and `throw 'text'` happen in libraries too: read fields only from objects.
  const fe = (typeof err === 'object' && err !== null ? err : {}) as Partial<FastifyError> & {
    validation?: AjvError[];
  };
  if (Array.isArray(fe.validation) && fe.validation.length > 0) return fromValidation(fe.validation);
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BadRequestError('The request body is not valid JSON.', 'invalid_json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedMediaType(contentType);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BadRequestError('The Content-Length header does not match the body.');
    case 'FST_ERR_NOT_FOUND':
      return new NotFoundError('Not found.');
  }
  if (err instanceof SyntaxError)
    return new BadRequestError('The request body is not valid JSON.', 'invalid_json');
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new BadRequestError(fe.message ?? 'Bad request.');
  }
  return new InternalError(err);
}
