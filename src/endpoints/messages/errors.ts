/**
 * Anthropic's error body (`{"type":"error","error":{"type","message"}}`) for errors on the Messages
 * endpoints, from the gateway's error (its status and OpenAI type). Status codes stay the gateway's own
 * (DESIGN §3); only the body's shape and type names follow Anthropic's.
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

/** The error body for the Messages endpoints (the request id is in the `X-Request-ID` header, not the body). */
export function anthropicErrorBody(error: GatewayError, openai: unknown): unknown {
  const envelope = (openai as { error?: { message?: unknown } } | null)?.error;
  const message = typeof envelope?.message === 'string' ? envelope.message : error.message;
  const upstream = error instanceof ProviderError ? error.upstreamStatus : undefined;
  return {
    type: 'error',
    error: { type: anthropicErrorType(error.type, error.status, upstream), message },
  };
}

/** Anthropic's error body, for OpenAPI and response serialisation. */
export const AnthropicErrorSchema = T.Object(
  { type: T.Literal('error'), error: T.Object({ type: T.String(), message: T.String() }) },
  { $id: 'AnthropicErrorResponse', description: 'Anthropic-style error body.' },
);
