/**
 * The gateway's one error catalogue.
 *
 * Every failure the gateway reports is a `GatewayError`: a stable `code`, the HTTP `status` the client gets,
 * the OpenAI envelope `type`, the request field it is about (`param`), whether trying again could help
 * (`isRetryable`) and, for rate limits, how long to wait. `server/error-envelope.ts` is the only place that
 * turns one into the OpenAI error body.
 *
 * Provider-side failures extend `ProviderError` (DESIGN §4): `RateLimitError`, `AuthError`, `TimeoutError`,
 * `InvalidRequestError`, `ProviderUnavailableError`. Retry and fallback look only at `isRetryable` and
 * `retryAfterMs`.
 */

/** Stable machine-readable codes, sent as `error.code`. */
export type ErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'model_not_found'
  | 'provider_not_configured'
  | 'unsupported_parameter'
  | 'invalid_api_key'
  | 'csrf_token_invalid'
  | 'model_not_allowed'
  | 'permission_denied'
  | 'conflict'
  | 'request_too_large'
  | 'malformed_http'
  | 'request_timeout'
  | 'headers_too_large'
  | 'rate_limit_exceeded'
  | 'budget_exceeded'
  | 'content_policy_violation'
  | 'upstream_bad_request'
  | 'upstream_rate_limited'
  | 'insufficient_quota'
  | 'provider_auth_failed'
  | 'upstream_timeout'
  | 'provider_unavailable'
  | 'upstream_stream_error'
  | 'service_unavailable'
  | 'client_closed'
  | 'internal_error';

/** The `error.type` values of the OpenAI envelope that the gateway uses (DESIGN §3). */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'rate_limit_error'
  | 'budget_exceeded'
  | 'provider_authentication_error'
  | 'timeout_error'
  | 'provider_unavailable_error'
  | 'internal_error';

export interface GatewayErrorOptions {
  param?: string | null;
  cause?: unknown;
  retryAfterMs?: number;
  /**
   * The `error.code` the client gets when it is not `code`: the provider's own code for a request the
   * provider rejected (`context_length_exceeded`). Metrics and logs keep `code`, the bounded catalogue.
   */
  clientCode?: string;
}

/** Base of every error the gateway reports. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  /** Milliseconds the client (or the retry loop) should wait before trying again, when known. */
  readonly retryAfterMs: number | undefined;
  /** `error.code` in the answer: `code` unless a provider's own code replaces it (`GatewayErrorOptions`). */
  readonly clientCode: string;

  constructor(
    message: string,
    code: ErrorCode,
    status: number,
    type: ErrorType,
    options: GatewayErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.type = type;
    this.param = options.param ?? null;
    this.retryAfterMs = options.retryAfterMs;
    this.clientCode = options.clientCode ?? code;
  }

  /** Whether the same request may succeed when tried again on the same deployment (retry). */
  get isRetryable(): boolean {
    return false;
  }

  /**
   * This error naming another request field: an endpoint that translated the request names the field the
   * client sent (`input[0].call_id`) instead of the canonical one (`messages[0].tool_call_id`). A copy, as
   * one error may answer several requests (single flight).
   */
  withParam(param: string | null): this {
    return Object.create(Object.getPrototypeOf(this), {
      ...Object.getOwnPropertyDescriptors(this),
      param: { value: param, enumerable: true },
    }) as this;
  }

  /**
   * Whether another deployment of the route may serve the request (fallback). Every retriable error, and
   * failures of one deployment that retrying it cannot cure (a spent quota, a model it does not have).
   */
  get mayFallBack(): boolean {
    return this.isRetryable;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Client-side errors: the request itself is at fault or not allowed.

/** 400: the body is not JSON, the model is unknown, a feature is not supported by the chosen provider. */
export class BadRequestError extends GatewayError {
  constructor(message: string, code: ErrorCode = 'invalid_request', options: GatewayErrorOptions = {}) {
    super(message, code, 400, 'invalid_request_error', options);
  }
}

/** 422: the body is JSON but violates the schema; `param` names the field (e.g. `messages[2].role`). */
export class ValidationError extends GatewayError {
  constructor(message: string, param: string | null) {
    super(message, 'invalid_request', 422, 'invalid_request_error', { param });
  }
}

/** 400: a guardrail policy refused the request or the answer (DESIGN §17). Never names the value. */
export class ContentPolicyError extends GatewayError {
  constructor(message: string) {
    super(message, 'content_policy_violation', 400, 'invalid_request_error');
  }
}

export class NotFoundError extends GatewayError {
  constructor(message: string) {
    super(message, 'not_found', 404, 'invalid_request_error');
  }
}

export class UnsupportedMediaTypeError extends GatewayError {
  constructor(message: string) {
    super(message, 'unsupported_media_type', 415, 'invalid_request_error');
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limitBytes: number) {
    super(
      `Request body is larger than the limit of ${limitBytes} bytes.`,
      'request_too_large',
      413,
      'invalid_request_error',
    );
  }
}

/**
 * 400, 408, 431: the HTTP request itself could not be read — not valid HTTP/1.1 (`malformed_http`), not
 * received completely in time (`request_timeout`), or its request line and headers too large
 * (`headers_too_large`). Answered by the server before any route (server/client-error.ts, decision 0238).
 */
export class HttpProtocolError extends GatewayError {
  constructor(
    message: string,
    code: 'malformed_http' | 'request_timeout' | 'headers_too_large',
    status: 400 | 408 | 431,
  ) {
    super(message, code, status, 'invalid_request_error');
  }
}

/** 401: missing, unknown, expired or revoked gateway key. */
export class AuthenticationError extends GatewayError {
  constructor(
    message = 'Missing or invalid API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".',
  ) {
    super(message, 'invalid_api_key', 401, 'authentication_error');
  }
}

/** 403: the key is valid but may not use this model. */
export class PermissionDeniedError extends GatewayError {
  constructor(message: string, param: string | null = 'model') {
    super(message, 'model_not_allowed', 403, 'permission_error', { param });
  }
}

/** 403: an org or team admin key reaching beyond its subtree, or a global admin route (DESIGN §7). */
export class ForbiddenError extends GatewayError {
  constructor(message: string, param: string | null = null) {
    super(message, 'permission_denied', 403, 'permission_error', { param });
  }
}

/** 409: the change conflicts with the current state (deleting a team that still has keys). */
export class ConflictError extends GatewayError {
  constructor(message: string, param: string | null = null) {
    super(message, 'conflict', 409, 'invalid_request_error', { param });
  }
}

/**
 * 429 from the gateway's own limits (rate limit or budget). `param` names the tenancy level that refused
 * (`org`, `team`, `key`, `user`; DESIGN §7), null for the tier's bucket.
 */
export class GatewayRateLimitError extends GatewayError {
  constructor(
    message: string,
    retryAfterMs: number,
    code: 'rate_limit_exceeded' | 'budget_exceeded',
    param: string | null = null,
  ) {
    super(message, code, 429, code === 'budget_exceeded' ? 'budget_exceeded' : 'rate_limit_error', {
      retryAfterMs,
      param,
    });
  }
}

/** 503 while the gateway is shutting down. */
export class ServiceUnavailableError extends GatewayError {
  constructor(message: string, retryAfterMs?: number) {
    super(message, 'service_unavailable', 503, 'provider_unavailable_error', { retryAfterMs });
  }
}

/** The client went away; the upstream call is aborted. Nobody reads the answer (499 in logs). */
export class ClientClosedError extends GatewayError {
  constructor() {
    super(
      'The client closed the connection before the answer was complete.',
      'client_closed',
      499,
      'invalid_request_error',
    );
  }
}

export class InternalError extends GatewayError {
  constructor(cause?: unknown) {
    super(
      'The gateway failed unexpectedly. The request id identifies it in the logs.',
      'internal_error',
      500,
      'internal_error',
      {
        cause,
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Provider-side errors (DESIGN §4). `provider` is the configured provider name, `upstreamStatus` the HTTP
// status the provider answered with (undefined for network failures).

export interface ProviderErrorOptions extends GatewayErrorOptions {
  upstreamStatus?: number;
  /** The provider's own `error.type` (`not_found_error`, `insufficient_quota`), when its body had one. */
  upstreamType?: string;
}

export class ProviderError extends GatewayError {
  readonly provider: string;
  readonly upstreamStatus: number | undefined;
  readonly upstreamType: string | undefined;

  constructor(
    message: string,
    provider: string,
    code: ErrorCode,
    status: number,
    type: ErrorType,
    options: ProviderErrorOptions = {},
  ) {
    super(message, code, status, type, options);
    this.provider = provider;
    this.upstreamStatus = options.upstreamStatus;
    this.upstreamType = options.upstreamType;
  }
}

/** The provider rate-limited us (429). Retriable; `retryAfterMs` from its `Retry-After` when sent. */
export class RateLimitError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    super(message, provider, 'upstream_rate_limited', 429, 'rate_limit_error', options);
  }
  override get isRetryable(): boolean {
    return true;
  }
}

/**
 * The provider's account behind a deployment has no quota left (a 429 whose code or type is
 * `insufficient_quota`). Not a transient rate limit: never retried on the same deployment, but another
 * deployment may serve (`mayFallBack`). The client gets 429 `insufficient_quota` with no Retry-After and
 * `x-should-retry: false` (docs/decisions/0206).
 */
export class QuotaExceededError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    super(message, provider, 'insufficient_quota', 429, 'rate_limit_error', options);
  }
  override get mayFallBack(): boolean {
    return true;
  }
}

/**
 * The provider refused our credentials (401/403). Never retried on the same deployment, but another
 * deployment has its own credentials and may serve (`mayFallBack`, decision 0233).
 */
export class AuthError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    super(message, provider, 'provider_auth_failed', 401, 'provider_authentication_error', options);
  }
  override get mayFallBack(): boolean {
    return true;
  }
}

/** No answer in time (attempt or total timeout, 408/504 from the provider). Retriable. */
export class TimeoutError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    super(message, provider, 'upstream_timeout', 504, 'timeout_error', options);
  }
  override get isRetryable(): boolean {
    return true;
  }
}

/**
 * A timeout of a request too large for the time it was given (its output limit × the expected time per
 * token passes the timeout): the request's fault, not the deployment's. Not retried (it would time out
 * again) and not counted against the deployment's circuit breaker (docs/decisions/0083).
 */
export class OversizedRequestTimeoutError extends TimeoutError {
  override get isRetryable(): boolean {
    return false;
  }
}

/**
 * The provider rejected the request (400, 404, 413, 422 …). Permanent: not retried. The client gets the
 * provider's 404 and 413 as they are (the SDKs' `NotFoundError`; a body too large), every other status as
 * 400 (DESIGN §3), with the provider's own `code` and `param` when it sent them (docs/decisions/0206). A 404
 * says the deployment lacks the model (or the resource): another deployment may have it (`mayFallBack`).
 */
export class InvalidRequestError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    const status =
      options.upstreamStatus === 404 || options.upstreamStatus === 413 ? options.upstreamStatus : 400;
    const code = status === 413 ? 'request_too_large' : status === 404 ? 'not_found' : 'upstream_bad_request';
    super(message, provider, code, status, 'invalid_request_error', options);
  }
  override get mayFallBack(): boolean {
    return this.status === 404;
  }
}

/** 5xx, connection refused or reset, malformed answer, stream cut off. Retriable. */
export class ProviderUnavailableError extends ProviderError {
  constructor(message: string, provider: string, options: ProviderErrorOptions = {}) {
    super(message, provider, 'provider_unavailable', 502, 'provider_unavailable_error', options);
  }
  override get isRetryable(): boolean {
    return true;
  }
}

/** Wraps anything thrown into a `GatewayError` (unknown errors become `InternalError`). */
export function asGatewayError(err: unknown): GatewayError {
  return err instanceof GatewayError ? err : new InternalError(err);
}
