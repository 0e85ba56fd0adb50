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
  ValidationError,
} from '../errors.js';
import type { Redactor } from '../telemetry/logger.js';

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

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
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

/** Keywords about the value's shape; any other keyword is a constraint the value's type was right for. */
const SHAPE_KEYWORDS = new Set(['type', 'anyOf', 'oneOf', 'const', 'enum', 'required', 'discriminator']);

/** ajv errors → one 422 naming the most specific field. */
function fromValidation(errors: AjvError[]): ValidationError {
  // The deepest path is the most specific; on ties keep ajv's order (first failure).
  const first = errors.reduce((best, e) => (depth(e.instancePath) > depth(best.instancePath) ? e : best));
  const atPath = errors.filter((e) => e.instancePath === first.instancePath);
  let param = toParam(first.instancePath);
  let message: string;
  const missing = atPath.find((e) => e.keyword === 'required');
  const tag = atPath.find((e) => e.keyword === 'discriminator');
  const extra = atPath.find((e) => e.keyword === 'additionalProperties');
  // A constraint (maxItems, maximum, pattern …) means one branch of a union had the right type: name it
  // rather than the types of the branches that did not match.
  const constraint = atPath.find((e) => !SHAPE_KEYWORDS.has(e.keyword));
  if (missing) {
    const field = String(missing.params.missingProperty);
    param = param ? `${param}.${field}` : field;
    message = `${param} is required.`;
  } else if (tag) {
    const field = String(tag.params.tag);
    param = param ? `${param}.${field}` : field;
    const value = tag.params.tagValue;
    message =
      value === undefined
        ? `${param} is required.`
        : typeof value === 'string'
          ? `${param} has an invalid value ${JSON.stringify(value)}.`
          : `${param} must be a string.`;
  } else if (extra) {
    const field = String(extra.params.additionalProperty);
    param = param ? `${param}.${field}` : field;
    message = `${param} is not a known field.`;
  } else if (constraint) {
    message = `${param || 'body'} ${constraint.message ?? 'is invalid'}.`;
  } else {
    const allowed = atPath.flatMap((e) =>
      e.keyword === 'const'
        ? [e.params.allowedValue]
        : e.keyword === 'enum' && Array.isArray(e.params.allowedValues)
          ? e.params.allowedValues
          : [],
    );
    const types = [
      ...new Set(atPath.filter((e) => e.keyword === 'type').flatMap((e) => String(e.params.type).split(','))),
    ];
    const options = [
      ...(allowed.length > 0 ? [`one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`] : []),
      ...(types.length > 0 ? [`of type ${types.join(' or ')}`] : []),
    ];
    message = `${param || 'body'} ${options.length > 0 ? `must be ${options.join(' or ')}` : (first.message ?? 'is invalid')}.`;
  }
  return new ValidationError(message, param || null);
}

function depth(path: string): number {
  return path === '' ? 0 : path.split('/').length;
}

/** `/messages/0/content/1/type` → `messages[0].content[1].type`. */
export function toParam(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').slice(1)) {
    const seg = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    out += /^\d+$/.test(seg) ? `[${seg}]` : out === '' ? seg : `.${seg}`;
  }
  return out;
}
