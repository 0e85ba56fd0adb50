/**
 * The HTTP layer under Fastify: Node's server with Fastify's settings (what Fastify does when it makes the
 * server itself, `lib/server.js`), the draining response class (Connection: close while shutting down; an
 * unread body drained, bounded), and the answers Node would write itself — HTTP-layer errors (431, 400,
 * 408) and an HTTP/1.1 request without `Host` — in the gateway's envelope with request ids (decision 0238).
 */
import {
  createServer,
  type IncomingMessage,
  maxHeaderSize,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Socket } from 'node:net';
import { HttpProtocolError } from '../core/errors.js';
import { clientRequestId, requestIdHeaders } from '../core/request-id.js';
import type { Logger, Redactor } from '../telemetry/logger.js';
import { createClientErrorHandler } from './client-error.js';
import { drainingResponse } from './draining-response.js';
import { toErrorBody } from './error-envelope.js';
import { JSON_CONTENT_TYPE } from './timing.js';
import { UnreadBodies, unreadBodyBounds } from './unread-body.js';

export interface HttpLayerDeps {
  lifecycle: { readonly shuttingDown: boolean };
  /** The app's request id generator (one sequence for every answer). */
  requestIds: { next(): string };
  redact: Redactor;
  logger: Logger;
  server: { body_limit_bytes: number; request_timeout_ms: number };
}

type ServerOptions = { keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number };

/** Fastify's `serverFactory` and `clientErrorHandler` for one app. */
export interface HttpLayer {
  /** Node's server; `handle` serves every request that has a `Host` (HTTP/1.1 requires one, RFC 9112 §3.2). */
  createServer(options: ServerOptions, handle: (req: IncomingMessage, res: ServerResponse) => void): Server;
  clientErrorHandler(err: Error, socket: Socket): void;
}

/**
 * @example
 * const http = createHttpLayer(deps);
 * Fastify({ clientErrorHandler: http.clientErrorHandler, serverFactory: (h, o) => http.createServer(o, h) });
 */
export function createHttpLayer(deps: HttpLayerDeps): HttpLayer {
  // An answer sent before its body was read (413, 415 …) drains the rest, bounded.
  const unread = new UnreadBodies(unreadBodyBounds(deps.server.body_limit_bytes));
  const clientErrorHandler = createClientErrorHandler({
    ...deps,
    unread,
    maxHeaderSize,
    requestTimeoutMs: deps.server.request_timeout_ms,
  });
  return {
    clientErrorHandler,
    createServer(options, handle) {
      // Node's own Host check would answer 400 with an empty body and no id.
      const server = createServer(
        { ServerResponse: drainingResponse(deps.lifecycle, unread), requireHostHeader: false },
        (req, res) => {
          if (req.headers.host === undefined && req.httpVersion === '1.1') missingHost(req, res, deps);
          else handle(req, res);
        },
      );
      if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
      if (options.requestTimeout !== undefined) server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout ?? 0);
      return server;
    },
  };
}

function missingHost(req: IncomingMessage, res: ServerResponse, deps: HttpLayerDeps): void {
  const error = new HttpProtocolError('An HTTP/1.1 request needs a Host header.', 'malformed_http', 400);
  const id = deps.requestIds.next();
  deps.logger.warn(
    {
      event: 'http.client_error',
      request_id: id,
      status: 400,
      code: error.code,
      client: req.socket.remoteAddress,
    },
    error.message,
  );
  const body = JSON.stringify(toErrorBody(error, deps.redact));
  res.writeHead(400, {
    ...requestIdHeaders(id, clientRequestId(req.headers['x-request-id'])),
    'content-type': JSON_CONTENT_TYPE,
    'content-length': Buffer.byteLength(body),
    connection: 'close',
  });
  res.end(body);
}
