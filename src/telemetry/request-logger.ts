/**
 * Per-request loggers without a pino child per request (decision 0181). Every request's logger carries
 * `request_id` (and the client's `client_request_id`), but most requests log one line only, `request.end`,
 * which the line writer (log-line.ts) serialises itself from the logger's internals. A pino child costs
 * ≈ 1 % of a request's CPU (its level methods are rebound, its bindings go through the redactor), so the
 * fast lane's loggers are made here instead:
 *
 * - the request logger is an object whose prototype chain ends at the process logger, as a pino child's
 *   does (`Object.create(parent)`), with its own chindings — `,"request_id":"…"` appended to the parent's —
 *   so everything read through the chain (level, stream, formatters, `isLevelEnabled`, `bindings()`) and
 *   the line writer see what they would see on a pino child;
 * - its level methods (and `child`) build the real pino child on first use and forward to it, so any line
 *   written through pino is exactly the child's line;
 * - the chindings are appended only when they are byte for byte what pino's child would have (checked once
 *   per parent logger, with a value that needs escaping: a serializer, stringifier or bindings formatter for
 *   these keys changes them); otherwise every request gets a real child, as before.
 */
import pino from 'pino';
import type { ContextLogger } from '../core/context.js';
import type { Logger } from './logger.js';

const CHINDINGS = (pino.symbols as unknown as Record<string, symbol>).chindingsSym as symbol;
/** The real pino child, once a line went through pino. */
const REAL = Symbol('request-logger.real');
const REQUEST_ID = Symbol('request-logger.request-id');
const CLIENT_ID = Symbol('request-logger.client-id');

/** pino's level methods (all forward to the real child). */
const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export interface RequestLoggers {
  /** The logger of one request: `request_id`, and `client_request_id` when the client sent one. */
  forRequest(requestId: string, clientRequestId: string | null): ContextLogger;
}

type Lazy = Record<symbol, unknown>;

/** The real child loggers, as `log.child({ request_id }).child({ client_request_id })` makes them. */
function realChild(parent: Logger, requestId: string, clientRequestId: string | null): Logger {
  const log = parent.child({ request_id: requestId });
  return clientRequestId === null ? log : log.child({ client_request_id: clientRequestId });
}

/** What pino appends to a logger's chindings for one string binding, if it is plain JSON. */
const binding = (key: string, value: string): string => `,"${key}":${JSON.stringify(value)}`;

/** Whether pino's children of `parent` carry exactly the plain-JSON chindings for these keys. */
function plainChindings(parent: Logger): boolean {
  const probe = 'a"b\\c\u2028é\u0001';
  try {
    const child = realChild(parent, probe, probe) as unknown as Lazy;
    const base = (parent as unknown as Lazy)[CHINDINGS];
    return (
      typeof base === 'string' &&
      child[CHINDINGS] === base + binding('request_id', probe) + binding('client_request_id', probe)
    );
  } catch {
    return false;
  }
}

/**
 * @example
 * const loggers = createRequestLoggers(logger);
 * const log = loggers.forRequest(id, clientId); // no pino child until a line goes through pino
 */
export function createRequestLoggers(parent: Logger): RequestLoggers {
  if (!plainChindings(parent)) {
    return { forRequest: (id, clientId) => realChild(parent, id, clientId) };
  }
  const real = (self: Lazy): Logger => {
    let log = self[REAL] as Logger | null;
    if (log === null) {
      log = realChild(parent, self[REQUEST_ID] as string, self[CLIENT_ID] as string | null);
      self[REAL] = log;
    }
    return log;
  };
  const proto = Object.create(parent) as Lazy & Record<string, unknown>;
  for (const level of LEVELS) {
    proto[level] = function (this: Lazy, ...args: unknown[]) {
      // A level the logger does not write needs no child.
      if (!(this as unknown as Logger).isLevelEnabled(level)) return;
      (real(this)[level] as (...a: unknown[]) => void)(...args);
    };
  }
  proto.child = function (this: Lazy, bindings: Record<string, unknown>, options?: unknown) {
    return real(this).child(bindings, options as undefined);
  };
  return {
    forRequest(requestId, clientRequestId) {
      const base = (parent as unknown as Lazy)[CHINDINGS] as string;
      const log = Object.create(proto) as Lazy;
      log[REAL] = null;
      log[REQUEST_ID] = requestId;
      log[CLIENT_ID] = clientRequestId;
      log[CHINDINGS] =
        clientRequestId === null
          ? base + binding('request_id', requestId)
          : base + binding('request_id', requestId) + binding('client_request_id', clientRequestId);
      return log as unknown as ContextLogger;
    },
  };
}
