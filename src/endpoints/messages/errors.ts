/**
 * Anthropic's error body (`{"type":"error","error":{"type","message"}}`) and status for errors on the
 * Messages endpoints, from the gateway's error. Status codes are the gateway's own (DESIGN §3), except that
 * a provider's 500 or 529 after retries is passed on as it is (`anthropicErrorStatus`); when the client gets
 * the provider's own status and the provider named one of Anthropic's types (an Anthropic deployment), that
 * type is kept; otherwise the gateway's type is mapped onto Anthropic's (docs/decisions/0206).
 */
import { Type as T } from '@sinclair/typebox';
import type { GatewayError } from '../../core/errors.js';
import { ProviderError } from '../../core/errors.js';

/** Anthropic's error types, from its API reference. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

/** The status Anthropic answers each of its error types with. */
const TYPE_STATUS: ReadonlyMap<string, number> = new Map<AnthropicErrorType, number>([
  ['invalid_request_error', 400],
  ['authentication_error', 401],
  ['permission_error', 403],
  ['not_found_error', 404],
  ['request_too_large', 413],
  ['rate_limit_error', 429],
  ['api_error', 500],
  ['timeout_error', 504],
  ['overloaded_error', 529],
]);

/** Provider statuses the Messages endpoints pass on where the gateway would answer 502: Anthropic's own. */
const PASSED_ON_5XX: ReadonlySet<number> = new Set([500, 529]);

/** The status of an error answer on the Messages endpoints. */
export function anthropicErrorStatus(error: GatewayError): number {
  const upstream = error instanceof ProviderError ? error.upstreamStatus : undefined;
  return error.status >= 500 && upstream !== undefined && PASSED_ON_5XX.has(upstream)
    ? upstream
    : error.status;
}

/** The Anthropic type for an OpenAI-envelope type (and, when known, the HTTP status and upstream status). */
export function anthropicErrorType(
  openaiType: unknown,
  status: number | null,
  upstreamStatus?: number,
): AnthropicErrorType {
  if (upstreamStatus === 529) return 'overloaded_error';
  if (status === 413) return 'request_too_large';
  if (status === 404) return 'not_found_error';
  switch (openaiType) {
    case 'invalid_request_error':
      return 'invalid_request_error';
    case 'authentication_error':
    case 'provider_authentication_error':
      return 'authentication_error';
    case 'permission_error':
      return 'permission_error';
    case 'rate_limit_error':
    case 'budget_exceeded':
      return 'rate_limit_error';
    case 'timeout_error':
      return 'timeout_error';
    case 'provider_unavailable_error':
      return status === 503 ? 'overloaded_error' : 'api_error';
    default:
      return status !== null && status < 500 && status >= 400 ? 'invalid_request_error' : 'api_error';
  }
}

/**
 * The error body for the Messages endpoints (the request id is in the `request-id` and `X-Request-ID`
 * headers, not the body).
 */
export function anthropicErrorBody(error: GatewayError, openai: unknown): unknown {
  const envelope = (openai as { error?: { message?: unknown } } | null)?.error;
  const message = typeof envelope?.message === 'string' ? envelope.message : error.message;
  const upstream = error instanceof ProviderError ? error.upstreamStatus : undefined;
  const status = anthropicErrorStatus(error);
  // The provider's own type when it is Anthropic's for the status the client gets (an Anthropic upstream).
  const own = error instanceof ProviderError ? error.upstreamType : undefined;
  const type =
    own !== undefined && status === upstream && TYPE_STATUS.get(own) === status
      ? (own as AnthropicErrorType)
      : anthropicErrorType(error.type, status, upstream);
  return { type: 'error', error: { type, message } };
}

/** Anthropic's error body, for OpenAPI and response serialisation. */
export const AnthropicErrorSchema = T.Object(
  { type: T.Literal('error'), error: T.Object({ type: T.String(), message: T.String() }) },
  { $id: 'AnthropicErrorResponse', description: 'Anthropic-style error body.' },
);
