/**
 * Shutting down: every response written from then on says `Connection: close`, so a keep-alive client does
 * not send its next request on a connection the server is about to close — whatever route wrote it
 * (Fastify's reply, an error, a hijacked stream) and also for requests that were already in flight when the
 * shutdown began. Done at the server, in `writeHead`, instead of an `onSend` hook that every request paid for
 * (decision 0155).
 *
 * The same place sees every answer that starts before its request's body was read (a 413, a 415, an
 * error before the body): the rest of that body is drained, bounded, instead of reset (unread-body.ts,
 * decision 0238).
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import { announcesBody, type UnreadBodies } from './unread-body.js';

/** What the response class reads: whether the gateway is shutting down (read per response, never cached). */
export interface DrainState {
  readonly shuttingDown: boolean;
}

const writeHead = ServerResponse.prototype.writeHead as (
  this: ServerResponse,
  statusCode: number,
  reason?: unknown,
  headers?: unknown,
) => ServerResponse;

/**
 * A `ServerResponse` class for `http.createServer({ ServerResponse })` (Fastify's `http` option) whose
 * responses close their connection while `state.shuttingDown`, and which drain the unread rest of their
 * request's body (`unread`; not while shutting down: that connection closes anyway).
 *
 * @example Fastify({ http: { ServerResponse: drainingResponse(lifecycle, unreadBodies) } })
 */
export function drainingResponse(state: DrainState, unread?: UnreadBodies): typeof ServerResponse {
  class DrainingResponse extends ServerResponse<IncomingMessage> {}
  // Fixed arity: Node's writeHead(statusCode, reason?, headers?) treats a non-string `reason` as the headers.
  DrainingResponse.prototype.writeHead = function (
    this: ServerResponse,
    statusCode: number,
    reason?: unknown,
    headers?: unknown,
  ): ServerResponse {
    // Node then writes `Connection: close` (unless a Connection header was set) and closes the socket after
    // this response.
    if (state.shuttingDown) this.shouldKeepAlive = false;
    else if (unread !== undefined && !this.req.complete && announcesBody(this.req)) unread.drain(this.req);
    return writeHead.call(this, statusCode, reason, headers);
  } as ServerResponse['writeHead'];
  // Node's own type is generic over the request class; this one serves node:http's IncomingMessage.
  return DrainingResponse as typeof ServerResponse;
}
