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
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from '../core/errors.js';
import { type AjvError, fromValidation } from '../endpoints/validation.js';
import type { Redactor } from '../telemetry/logger.js';

export { toParam } from '../endpoints/validation.js';

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The envelope for an error; provider texts are scrubbed of secrets. */
export function toErrorBody(err: GatewayError, redact: Redactor): ErrorBody {
  return {
    error: {
      message: redact(err.message),
      type: err.type,
      param: err.param,
      code: err.code,
    },
  };
}

/** Whole seconds for `Retry-After`, never 0 when set. */
export function retryAfterSeconds(err: GatewayError): number | undefined {
  if (err.retryAfterMs === undefined) return undefined;
  return Math.max(1, Math.ceil(err.retryAfterMs / 1000));
}

/** Maps anything a route or Fastify threw to a `GatewayError`. */
export function normalizeError(err: unknown, bodyLimit: number): GatewayError {
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
      return new UnsupportedMediaTypeError('Send the body as JSON (Content-Type: application/json).');
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
