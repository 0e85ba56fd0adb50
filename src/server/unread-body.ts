/**
 * A request answered before its body was read (413 over the limit, 415, an error before the body) keeps
 * its connection while the rest of the body is read and discarded, up to a bound (decision 0238). Closing
 * at once, as Node does after `Connection: close`, leaves unread bytes in the socket: the kernel then
 * resets the connection, often before the client has read the answer, and the OpenAI SDK sees a
 * connection error (EPIPE/ECONNRESET), which it retries — the same oversized body uploaded three times —
 * instead of the 413 that says what to fix.
 *
 * Draining is bounded in bytes and in time: past either bound the connection is destroyed. Nothing is
 * buffered: each chunk is counted and dropped.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export interface UnreadBodyBounds {
  /** Bytes read and discarded after the answer at most (the body limit times a few). */
  maxBytes: number;
  /** How long the rest of a body may take to arrive, in ms. */
  maxMs: number;
}

/**
 * The bounds for a body limit: four times the limit (an 11 MB or 20 MB upload against the default 10 MB
 * gets its 413), in at most 10 s.
 */
export function unreadBodyBounds(bodyLimitBytes: number): UnreadBodyBounds {
  return { maxBytes: 4 * bodyLimitBytes, maxMs: 10_000 };
}

/** Whether a request announces a body (a Content-Length above 0, or Transfer-Encoding). */
export function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * The bodies being drained on this server, by connection.
 *
 * @example
 * const unread = new UnreadBodies({ maxBytes: 4 * limit, maxMs: 10_000 });
 * if (!req.complete && announcesBody(req)) unread.drain(req); // as the answer starts
 */
export class UnreadBodies {
  readonly #bounds: UnreadBodyBounds;
  readonly #draining = new WeakSet<Socket>();

  constructor(bounds: UnreadBodyBounds) {
    this.#bounds = bounds;
  }

  /** Whether this connection's request was answered and its body is being drained. */
  draining(socket: Socket): boolean {
    return this.#draining.has(socket);
  }

  /**
   * Reads and discards the rest of `req`'s body (once per request); destroys the connection past a bound.
   * The answer is written meanwhile; once the body has ended the connection serves its next request.
   */
  drain(req: IncomingMessage): void {
    const socket = req.socket;
    if (this.#draining.has(socket) || req.complete) return;
    this.#draining.add(socket);
    let received = 0;
    const stop = (cut: boolean) => {
      clearTimeout(timer);
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('close', onEnd);
      this.#draining.delete(socket);
      if (cut) socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.#bounds.maxBytes) stop(true);
    };
    const onEnd = () => stop(false);
    const timer = setTimeout(() => stop(true), this.#bounds.maxMs);
    timer.unref();
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onEnd);
    req.resume();
  }
}
