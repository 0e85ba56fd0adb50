/**
 * Errors of the HTTP layer itself, before any route sees a request (Node's `clientError`): headers too
 * large (431), not valid HTTP/1.1 — a bad method, chunk size, header character, Content-Length or
 * Transfer-Encoding — (400), or a request not received completely in time (408). Each gets OpenAI's error
 * body naming the problem and the request id headers, like every other answer (decision 0238), when an
 * answer can still be written: the socket is writable and no answer to this request has started.
 *
 * The connection is then half-closed and destroyed after a short grace, not at once: a client still
 * sending (its headers, a slow body) would otherwise get a reset instead of the answer.
 */
import { type ServerResponse, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { HttpProtocolError } from '../core/errors.js';
import { shortened } from '../core/quote.js';
import { clientRequestId, requestIdHeaders } from '../core/request-id.js';
import type { Logger, Redactor } from '../telemetry/logger.js';
import { toErrorBody } from './error-envelope.js';
import { JSON_CONTENT_TYPE } from './timing.js';
import type { UnreadBodies } from './unread-body.js';

export interface ClientErrorDeps {
  /** The app's request id generator: the answer's id is a gateway id like any other. */
  requestIds: { next(): string };
  logger: Logger;
  redact: Redactor;
  /** Bodies being drained after their answer: a later error on that connection writes nothing. */
  unread: UnreadBodies;
  /** Node's header limit (`http.maxHeaderSize`), named in the 431. */
  maxHeaderSize: number;
  /** `server.request_timeout_ms`, named in the 408. */
  requestTimeoutMs: number;
  /** How long a connection stays half-closed after the answer, for the client to read it (ms). */
  closeGraceMs?: number;
}

/** A Node parser error (`HPE_*`, with llhttp's `reason`) or Node's own (`ERR_HTTP_REQUEST_TIMEOUT`). */
interface ParserError extends Error {
  code?: string;
  reason?: string;
}

/** What each parser error means, for the codes a client can cause; others say llhttp's reason. */
const MALFORMED: Readonly<Record<string, string>> = {
  HPE_INVALID_METHOD: 'The request method is not one HTTP/1.1 knows.',
  HPE_INVALID_URL: 'The request target (URL) is not valid.',
  HPE_INVALID_VERSION: 'The HTTP version is not valid: the gateway speaks HTTP/1.0 and HTTP/1.1.',
  HPE_INVALID_HEADER_TOKEN: 'A header name or value holds a character HTTP does not allow.',
  HPE_INVALID_CHUNK_SIZE: 'The chunked body has a chunk size that is not a hexadecimal number.',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "The chunked body's chunk extensions are too long.",
  HPE_LF_EXPECTED: 'A line of the request does not end with CRLF.',
  HPE_CR_EXPECTED: 'A line of the request does not end with CRLF.',
};

/** Codes of a body's framing (Content-Length, Transfer-Encoding): llhttp's reason says which rule broke. */
const FRAMING = new Set([
  'HPE_INVALID_CONTENT_LENGTH',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_INVALID_TRANSFER_ENCODING',
]);

/** The gateway error for a `clientError`. */
export function clientErrorOf(
  err: ParserError,
  limits: { maxHeaderSize: number; requestTimeoutMs: number },
): HttpProtocolError {
  const code = err.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new HttpProtocolError(
      `The request line and headers are larger than the ${limits.maxHeaderSize} bytes the gateway accepts: shorten the URL (query string) or the headers.`,
      'headers_too_large',
      431,
    );
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new HttpProtocolError(
      `The request was not received completely within ${limits.requestTimeoutMs} ms.`,
      'request_timeout',
      408,
    );
  }
  // llhttp's reasons are short fixed texts ("Duplicate Content-Length"); bounded all the same.
  const reason = shortened(err.reason ?? err.message ?? 'unreadable request', 120);
  const message = FRAMING.has(code)
    ? `The request's Content-Length or Transfer-Encoding is not valid (${reason}): send one Content-Length, or Transfer-Encoding: chunked alone.`
    : (MALFORMED[code] ?? `The request is not valid HTTP/1.1 (${reason}).`);
  return new HttpProtocolError(message, 'malformed_http', 400);
}

/**
 * Fastify's `clientErrorHandler`: answers an HTTP-layer error with the gateway's envelope and ids.
 *
 * @example Fastify({ clientErrorHandler: createClientErrorHandler(deps) })
 */
export function createClientErrorHandler(deps: ClientErrorDeps): (err: Error, socket: Socket) => void {
  const answered = new WeakSet<Socket>();
  const graceMs = deps.closeGraceMs ?? 2_000;
  return (err: ParserError, socket) => {
    // A reset connection, or one already answered (a parser that failed keeps failing on more bytes).
    if (err.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    // Node's own check (`_http_server.js` socketOnError): the response in flight on this connection; once
    // its headers went out, or while a finished answer's body is drained, nothing more can be written.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (!socket.writable || inFlight?.headersSent || deps.unread.draining(socket)) {
      socket.destroy();
      return;
    }
    answered.add(socket);
    const error = clientErrorOf(err, deps);
    const id = deps.requestIds.next();
    const clientId = inFlight ? clientRequestId(inFlight.req.headers['x-request-id']) : null;
    deps.logger.warn(
      {
        event: 'http.client_error',
        request_id: id,
        status: error.status,
        code: error.code,
        parser_code: err.code,
        client: socket.remoteAddress,
      },
      error.message,
    );
    const body = JSON.stringify(toErrorBody(error, deps.redact));
    const headers = {
      'content-type': JSON_CONTENT_TYPE,
      'content-length': Buffer.byteLength(body),
      ...requestIdHeaders(id, clientId),
      connection: 'close',
    };
    let head = `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    socket.end(`${head}\r\n${body}`);
    const timer = setTimeout(() => socket.destroy(), graceMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
}
