/**
 * A JSON POST whose answer is collected by a plain undici dispatch handler (decision 0181): the same
 * request, errors and limits as `post` + `readJson` (http.ts), without what `dispatcher.request` builds per
 * call for a streamed body — an AsyncResource, a Readable body stream with its state and events, the
 * headers parsed into an object, a promise per step. A non-streamed answer is read whole anyway.
 *
 * - 2xx: the body (a UTF-8 BOM skipped, as undici's `body.json()` does) parsed once, its text kept beside
 *   the parsed object for the writer (`core/raw-answer.ts`); a body that is not JSON is a provider failure
 *   (`ProviderUnavailableError`), never a crash.
 * - Other statuses: `httpError` from the status, the headers and the first 64 KiB of the body.
 * - Network failures, the dispatcher's `maxResponseSize` and aborts: `networkError` (an abort rethrows the
 *   signal's reason when it is a `GatewayError`: timeouts, client disconnect).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { util } from 'undici';
import { ProviderUnavailableError } from '../core/errors.js';
import { keepRawAnswer } from '../core/raw-answer.js';
import { httpError, MAX_ERROR_BODY_BYTES, networkError, type PostOptions } from './http.js';

/** A 2xx answer, parsed. */
export interface JsonAnswer {
  statusCode: number;
  json: unknown;
}

const isOk = (status: number) => status >= 200 && status < 300;

/**
 * POSTs `options.body` (or sends a DELETE, `options.method`) and resolves with the parsed JSON of a 2xx answer;
 * rejects with a typed error.
 *
 * @example const { json } = await postJson(dispatcher, { provider: 'openai', url, headers, body, signal, clock });
 */
export function postJson(dispatcher: Dispatcher, options: PostOptions): Promise<JsonAnswer> {
  return new Promise((resolve, reject) => {
    const signal = options.signal;
    if (signal.aborted) {
      reject(networkError(options.provider, signal.reason, signal));
      return;
    }
    const handler = new JsonHandler(options, resolve, reject);
    signal.addEventListener('abort', handler, { once: true });
    dispatcher.dispatch(
      {
        origin: options.url.origin,
        path: options.url.path,
        method: options.method ?? 'POST',
        headers: options.headers,
        body: options.method === 'DELETE' ? null : options.body,
        bodyTimeout: options.bodyTimeoutMs ?? 0,
      },
      handler,
    );
  });
}

/** undici's dispatch handler for one call; also the signal's abort listener (`handleEvent`). */
class JsonHandler implements Dispatcher.DispatchHandler {
  #abort: ((reason?: Error) => void) | null = null;
  #status = 0;
  #rawHeaders: Buffer[] | null = null;
  #chunks: Buffer[] = [];
  #length = 0;
  #done = false;

  constructor(
    private readonly options: PostOptions,
    private readonly resolve: (answer: JsonAnswer) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** The signal aborted: cut the call (now, or as soon as it is connected). */
  handleEvent(): void {
    this.#abort?.(this.options.signal.reason);
  }

  onConnect(abort: (reason?: Error) => void): void {
    if (this.#done) return;
    this.#abort = abort;
    if (this.options.signal.aborted) abort(this.options.signal.reason);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.#status = statusCode;
    this.#rawHeaders = rawHeaders;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#length += chunk.length;
    // An error answer is read up to 64 KiB, then the call is cut (as `post` does); a 2xx one is bounded by
    // the dispatcher's maxResponseSize.
    if (this.#length >= MAX_ERROR_BODY_BYTES && !isOk(this.#status)) {
      this.#failWithStatus();
      this.#abort?.(new Error('error answer read'));
      return false;
    }
    return true;
  }

  onComplete(): void {
    if (!isOk(this.#status)) {
      this.#failWithStatus();
      return;
    }
    if (this.#finish()) return;
    const { provider } = this.options;
    let json: unknown;
    const text = this.#text();
    try {
      json = JSON.parse(text);
    } catch {
      this.reject(
        new ProviderUnavailableError(`${provider} answered with a body that is not valid JSON.`, provider, {
          upstreamStatus: this.#status,
        }),
      );
      return;
    }
    if (typeof json === 'object' && json !== null) keepRawAnswer(json, text);
    this.resolve({ statusCode: this.#status, json });
  }

  /** A non-2xx answer: `httpError` from its status, headers and first 64 KiB. */
  #failWithStatus(): void {
    if (this.#finish()) return;
    const { options } = this;
    const headers = util.parseHeaders(this.#rawHeaders ?? []) as IncomingHttpHeaders;
    const body = Buffer.concat(this.#chunks, this.#length).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
    this.reject(
      httpError(options.provider, this.#status, headers, body, options.clock.wallNow(), options.apiKeyEnv),
    );
  }

  onError(err: Error): void {
    if (this.#finish()) return;
    this.reject(networkError(this.options.provider, err, this.options.signal, this.#status !== 0));
  }

  /** Ends the call once; true when it had already ended. */
  #finish(): boolean {
    if (this.#done) return true;
    this.#done = true;
    this.options.signal.removeEventListener('abort', this);
    return false;
  }

  /** A 2xx body as text, a UTF-8 byte order mark skipped (as undici's `body.json()`). */
  #text(): string {
    const chunks = this.#chunks;
    if (chunks.length === 0) return '';
    const buffer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#length);
    const bom = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf;
    return buffer.toString('utf8', bom ? 3 : 0);
  }
}
