/**
 * Shared HTTP plumbing for adapters: one pooled undici dispatcher, a JSON POST that turns every failure
 * into a typed `ProviderError`, and the mapping from upstream HTTP statuses to the error taxonomy.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, type Dispatcher } from 'undici';
import type { Clock } from '../core/clock.js';
import {
  AuthError,
  GatewayError,
  InvalidRequestError,
  type ProviderError,
  ProviderUnavailableError,
  QuotaExceededError,
  RateLimitError,
  TimeoutError,
} from '../core/errors.js';
import type { CallOptions } from './types.js';

export interface DispatcherOptions {
  /** Max sockets per upstream origin. */
  connectionsPerOrigin: number;
  /** Idle keep-alive sockets are closed after this long. */
  keepAliveTimeoutMs: number;
  connectTimeoutMs: number;
  /** Largest upstream answer accepted (a stream counts whole); a backstop against runaway upstreams. */
  maxResponseBytes: number;
}

/** Creates the process-wide pooled dispatcher (keep-alive, per-origin connection cap). */
export function createDispatcher(options: DispatcherOptions): Agent {
  return new Agent({
    connections: options.connectionsPerOrigin,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    keepAliveMaxTimeout: Math.max(options.keepAliveTimeoutMs, 600_000),
    connect: { timeout: options.connectTimeoutMs },
    maxResponseSize: options.maxResponseBytes,
    // Per-call timeouts are enforced by the caller's AbortSignal; these are backstops.
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/**
 * Headers that tie an upstream call to the gateway request: `X-Request-ID` and, when traced, `traceparent`
 * (with the client's `tracestate` when it sent one).
 */
export function correlationHeaders(call: CallOptions): Record<string, string> {
  if (!call.traceparent) return { 'x-request-id': call.requestId };
  return call.tracestate
    ? { 'x-request-id': call.requestId, traceparent: call.traceparent, tracestate: call.tracestate }
    : { 'x-request-id': call.requestId, traceparent: call.traceparent };
}

/** Where a request goes, split as undici takes it; computed once per endpoint, not per request. */
export interface Target {
  /** `https://api.openai.com` */
  readonly origin: string;
  /** Path and query: `/v1/chat/completions?api-version=…` */
  readonly path: string;
}

/** The `Target` of a URL (build it once, at adapter creation, where the URL is fixed). */
export function target(url: URL | string): Target {
  const u = typeof url === 'string' ? new URL(url) : url;
  return { origin: u.origin, path: u.pathname + u.search };
}

/**
 * An adapter's fixed headers plus the ones that tie the call to the gateway request (`correlationHeaders`),
 * in one object literal: no intermediate objects per request.
 */
export function callHeaders(
  base: Readonly<Record<string, string>>,
  call: CallOptions,
): Record<string, string> {
  // Object.assign, not spread: a spread copy given a new key gets a fresh hidden class per call on Node 20
  // (src/core/shapes.ts).
  const headers: Record<string, string> = Object.assign({}, base);
  headers['x-request-id'] = call.requestId;
  if (call.traceparent) {
    headers.traceparent = call.traceparent;
    if (call.tracestate) headers.tracestate = call.tracestate;
  }
  return headers;
}

export interface PostOptions {
  provider: string;
  url: Target;
  headers: Record<string, string>;
  /** `POST` when absent; a `DELETE` sends no body (`body` is ignored). */
  method?: 'POST' | 'DELETE';
  body: string;
  signal: AbortSignal;
  /** Longest silence allowed between two body chunks (streams), ms. 0 = none. */
  bodyTimeoutMs?: number;
  /** Env variable that holds the provider key, named in auth errors. */
  apiKeyEnv?: string | undefined;
  /** Wall time, for a Retry-After given as an HTTP date. */
  clock: Pick<Clock, 'wallNow'>;
}

/** How much of an error answer is read (its message goes into the error). */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * POSTs a body and returns the response when its status is 2xx. Non-2xx statuses, network failures and
 * aborts become typed errors; an abort rethrows the signal's reason when it is a `GatewayError`
 * (timeouts, client disconnect).
 */
export async function post(dispatcher: Dispatcher, options: PostOptions): Promise<Dispatcher.ResponseData> {
  let res: Dispatcher.ResponseData;
  try {
    res = await dispatcher.request({
      origin: options.url.origin,
      path: options.url.path,
      method: 'POST',
      headers: options.headers,
      body: options.body,
      signal: options.signal,
      bodyTimeout: options.bodyTimeoutMs ?? 0,
    });
  } catch (err) {
    throw networkError(options.provider, err, options.signal);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return res;
  const text = await readLimited(res.body, MAX_ERROR_BODY_BYTES).catch(() => '');
  throw httpError(
    options.provider,
    res.statusCode,
    res.headers,
    text,
    options.clock.wallNow(),
    options.apiKeyEnv,
  );
}

/**
 * Reads a JSON response body, once: undici collects and parses it (`body.json()`, no intermediate string
 * handed back to us); a body that is not JSON is a provider failure, not a crash. The size bound is the
 * dispatcher's `maxResponseSize`.
 */
export async function readJson(
  provider: string,
  res: Dispatcher.ResponseData,
  signal: AbortSignal,
): Promise<unknown> {
  try {
    return await res.body.json();
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw networkError(provider, err, signal, true);
    throw new ProviderUnavailableError(`${provider} answered with a body that is not valid JSON.`, provider, {
      upstreamStatus: res.statusCode,
    });
  }
}

/**
 * Turns a thrown network/abort error into a typed error. `answering`: the provider had started its answer
 * (the head arrived) when the connection failed, so it was reached and broke off.
 */
export function networkError(
  provider: string,
  err: unknown,
  signal?: AbortSignal,
  answering = false,
): GatewayError {
  if (signal?.aborted && signal.reason instanceof GatewayError) return signal.reason;
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'ETIMEDOUT'
  ) {
    return new TimeoutError(`${provider} did not answer in time.`, provider, { cause: err });
  }
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') {
    return new ProviderUnavailableError(
      `${provider} sent an answer larger than the gateway accepts.`,
      provider,
      {
        cause: err,
      },
    );
  }
  const detail = typeof code === 'string' ? ` (${code})` : '';
  const what = answering ? 'broke off its answer' : 'could not be reached';
  return new ProviderUnavailableError(`${provider} ${what}${detail}.`, provider, { cause: err });
}

/** Error codes of a failure to open a connection: the request never left the gateway. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Whether a failed call never reached the provider: the connection could not be opened (refused, no
 * such host, connect timeout, TLS certificate refused). Such an attempt cannot be billed. Looks through
 * the error's `cause` (and an AggregateError's `errors`, from trying several addresses).
 */
export function isConnectFailure(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const { code, errors, cause } = current as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === 'string' && CONNECT_FAILURES.has(code)) return true;
    if (Array.isArray(errors) && errors.length > 0 && errors.every((e) => isConnectFailure(e))) return true;
    current = cause;
  }
  return false;
}

/**
 * Maps an upstream non-2xx answer to the taxonomy (DESIGN §3 status table). `now`: wall time (epoch ms) the
 * answer arrived, for a Retry-After given as an HTTP date. A rejected request keeps the provider's own
 * `code`, `param` and type (docs/decisions/0206); a 429 for a spent quota is not a rate limit.
 */
export function httpError(
  provider: string,
  status: number,
  headers: IncomingHttpHeaders,
  bodyText: string,
  now: number,
  apiKeyEnv?: string,
): ProviderError {
  const detail = upstreamDetail(bodyText);
  const upstream = detail.message;
  const opts = { upstreamStatus: status, upstreamType: detail.type };
  // Gemini (Google APIs) answers a bad key with a 400 whose detail says API_KEY_INVALID.
  if (status === 401 || status === 403 || (status === 400 && detail.reason === 'API_KEY_INVALID')) {
    const hint = apiKeyEnv ? ` Check ${apiKeyEnv}.` : '';
    // The provider's words say what is refused (the key, the model, the project); any key it quotes,
    // masked or not, is left out.
    const said = upstream ? ` ${upstream.replace(QUOTED_KEY, '[redacted]')}` : '';
    return new AuthError(
      `${provider} rejected the gateway's credentials (HTTP ${status}).${said}${hint}`,
      provider,
      opts,
    );
  }
  if (status === 429) {
    if (detail.code === 'insufficient_quota' || detail.type === 'insufficient_quota') {
      return new QuotaExceededError(
        `${provider} has no quota left for this deployment${upstream ? `: ${upstream}` : '.'}`,
        provider,
        opts,
      );
    }
    return new RateLimitError(`${provider} rate limit reached${upstream ? `: ${upstream}` : '.'}`, provider, {
      ...opts,
      retryAfterMs: parseRetryAfter(headers, now) ?? detail.retryDelayMs,
    });
  }
  if (status === 408 || status === 504 || status === 524) {
    return new TimeoutError(`${provider} timed out (HTTP ${status}).`, provider, opts);
  }
  if (status >= 500) {
    return new ProviderUnavailableError(
      `${provider} is unavailable (HTTP ${status})${upstream ? `: ${upstream}` : '.'}`,
      provider,
      { ...opts, retryAfterMs: parseRetryAfter(headers, now) ?? detail.retryDelayMs },
    );
  }
  return new InvalidRequestError(
    `${provider} rejected the request (HTTP ${status})${upstream ? `: ${upstream}` : '.'}`,
    provider,
    detail.code === undefined
      ? { ...opts, param: detail.param }
      : { ...opts, param: detail.param, clientCode: detail.code },
  );
}

/**
 * `retry-after-ms` (OpenAI), `retry-after` in seconds or as an HTTP date → milliseconds. `now`: wall time
 * (epoch ms) an HTTP date is measured from.
 */
export function parseRetryAfter(headers: IncomingHttpHeaders, now: number): number | undefined {
  const ms = firstHeader(headers['retry-after-ms']);
  if (ms !== undefined) {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return n;
  }
  const value = firstHeader(headers['retry-after']);
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** What an error body says: `error.message` (OpenAI, Anthropic and Gemini all use it), code, param, type. */
interface UpstreamDetail {
  message: string;
  /** `error.code` when it is a string (Gemini's is the HTTP status, a number: not kept). */
  code: string | undefined;
  param: string | null;
  type: string | undefined;
  /** Google's `error.details[].reason` (`API_KEY_INVALID`). */
  reason: string | undefined;
  /** Google's `RetryInfo.retryDelay` (`"37s"`) in milliseconds: Gemini's 429s say when to retry there. */
  retryDelayMs: number | undefined;
}

/** A provider key an error message quotes (OpenAI's "Incorrect API key provided: sk-proj-****abcd"). */
const QUOTED_KEY = /\b(?:(?:sk|rk|pk|gsk|xai)[-_][-\w*]{6,}|AIza[-\w]{20,})|[\w-]*\*{3,}[\w-]*/g;

/** Pulls `UpstreamDetail` out of an error body, every field bounded. */
function upstreamDetail(bodyText: string): UpstreamDetail {
  const detail: UpstreamDetail = {
    message: '',
    code: undefined,
    param: null,
    type: undefined,
    reason: undefined,
    retryDelayMs: undefined,
  };
  if (!bodyText) return detail;
  let parsed: { error?: Record<string, unknown> | string; message?: unknown };
  try {
    parsed = JSON.parse(bodyText) as typeof parsed;
  } catch {
    return detail;
  }
  if (parsed === null || typeof parsed !== 'object') return detail;
  const error = parsed.error;
  const message = typeof error === 'string' ? error : (error?.message ?? parsed.message);
  const text = typeof message === 'string' ? message : '';
  detail.message = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  if (error === null || typeof error !== 'object') return detail;
  detail.code = token(error.code);
  detail.param = token(error.param) ?? null;
  detail.type = token(error.type);
  if (Array.isArray(error.details)) googleDetails(error.details, detail);
  return detail;
}

/** The reason and retry delay of Google's `error.details` (`google.rpc.ErrorInfo`, `google.rpc.RetryInfo`). */
function googleDetails(details: unknown[], detail: UpstreamDetail): void {
  for (const item of details.slice(0, 16)) {
    if (item === null || typeof item !== 'object') continue;
    const d = item as { reason?: unknown; retryDelay?: unknown };
    detail.reason ??= token(d.reason);
    const delay = typeof d.retryDelay === 'string' ? /^(\d{1,6}(?:\.\d{1,9})?)s$/.exec(d.retryDelay) : null;
    if (delay) detail.retryDelayMs ??= Math.round(Number(delay[1]) * 1000);
  }
}

/** A short machine-readable string from an upstream body (a code, param or type), else undefined. */
function token(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : undefined;
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
