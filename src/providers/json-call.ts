/**
 * A JSON POST for answers that are read whole (every non-streaming call): undici's `dispatch` with a
 * handler of our own that collects the body's chunks and parses them once at the end. `request()` would
 * wrap the body in a Readable stream, a promise per read and an AsyncResource; for a body we only ever
 * read whole that is pure overhead on the hot path (decision 0165). Streams keep using `post()`.
 *
 * Same contract as `post()` followed by reading the body as JSON: 2xx → the parsed body; non-2xx → the taxonomy error of
 * `httpError` (the error body read up to 64 KiB); network failures and aborts → `networkError` (an abort
 * rethrows the signal's reason when it is a `GatewayError`); a 2xx body that is not JSON → 502-class
 * `ProviderUnavailableError`. The size bound is the dispatcher's `maxResponseSize`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { ProviderUnavailableError } from '../core/errors.js';
import { httpError, networkError, type PostOptions } from './http.js';

/** A 2xx answer, parsed. */
export interface JsonAnswer {
  status: number;
  json: unknown;
}

const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** POSTs `options.body` and resolves with the parsed 2xx answer. @throws ProviderError (typed) */
export function postJson(dispatcher: Dispatcher, options: PostOptions): Promise<JsonAnswer> {
  return new Promise<JsonAnswer>((resolve, reject) => {
    const call = new JsonCall(options, resolve, reject);
    try {
      dispatcher.dispatch(
        {
          origin: options.url.origin,
          path: options.url.path,
          method: 'POST',
          headers: options.headers,
          body: options.body,
          bodyTimeout: options.bodyTimeoutMs ?? 0,
        },
        call,
      );
    } catch (err) {
      call.onError(err as Error);
    }
  });
}

/** undici's (legacy, the one its client calls directly) handler interface, for one call. */
class JsonCall {
  private abort: ((err?: Error) => void) | null = null;
  private status = 0;
  private rawHeaders: Buffer[] | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  private readonly onAbort: (() => void) | null = null;

  constructor(
    private readonly options: PostOptions,
    private readonly resolve: (answer: JsonAnswer) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const { signal } = options;
    if (!signal.aborted) {
      this.onAbort = () => this.abort?.(signal.reason as Error);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    const { signal } = this.options;
    if (signal.aborted) {
      abort(signal.reason as Error);
      return;
    }
    this.abort = abort;
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    if (status < 200) return true; // 1xx: informational, the answer follows
    this.status = status;
    this.rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // An error answer is only read for its message: past the bound the call settles with what came and
    // the rest is not read (the connection is dropped, as post() does).
    if (this.size >= MAX_ERROR_BODY_BYTES && (this.status < 200 || this.status >= 300)) {
      this.onComplete();
      this.abort?.(new Error('error body read up to its bound'));
    }
    return true;
  }

  onComplete(): void {
    if (this.finish()) return;
    const { status, options } = this;
    const text = bodyText(this.chunks, this.size);
    if (status < 200 || status >= 300) {
      this.reject(
        httpError(
          options.provider,
          status,
          headersOf(this.rawHeaders),
          text.length > MAX_ERROR_BODY_BYTES ? text.slice(0, MAX_ERROR_BODY_BYTES) : text,
          options.clock.wallNow(),
          options.apiKeyEnv,
        ),
      );
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.reject(
        new ProviderUnavailableError(
          `${options.provider} answered with a body that is not valid JSON.`,
          options.provider,
          { upstreamStatus: status },
        ),
      );
      return;
    }
    this.resolve({ status, json });
  }

  onError(err: Error): void {
    if (this.finish()) return;
    this.reject(networkError(this.options.provider, err, this.options.signal));
  }

  /** Marks the call settled and drops the abort listener; true when it already was. */
  private finish(): boolean {
    if (this.done) return true;
    this.done = true;
    if (this.onAbort) this.options.signal.removeEventListener('abort', this.onAbort);
    return false;
  }
}

/** The body as text (UTF-8, a leading byte-order mark dropped, as undici's `body.json()` does). */
function bodyText(chunks: readonly Buffer[], size: number): string {
  const buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
  const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  return buf.toString('utf8', bom ? 3 : 0);
}

/** Response headers as Node names them (lower-case; repeated ones as arrays), for Retry-After. */
function headersOf(raw: Buffer[] | null): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  if (!raw) return headers;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1').toLowerCase();
    const value = (raw[i + 1] as Buffer).toString('latin1');
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [prev, value];
  }
  return headers;
}
