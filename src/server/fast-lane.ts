/**
 * The pipeline endpoints' common case served straight from Node's `request` event, before Fastify builds
 * its per-request objects (decision 0166): a POST to a pipeline route's exact path with a JSON body of an
 * acceptable length, while the gateway is not shutting down. Everything else — another method or path, a
 * route with parameters, a body that is not JSON, a Content-Length over the limit, a URL Fastify would
 * normalise, a gateway shutting down — goes to Fastify untouched, which answers as it always did.
 *
 * What the lane does is what Fastify, the `onRequest` hook (request-start.ts), the endpoints' body parser,
 * `serve` and the error handler of app.ts do for such a request, in the same order and with the same
 * answers: request ids and their headers, the request's logger, the pipeline's context, the body read
 * with the same limit and Content-Length check, the pipeline run, the answer (JSON or SSE) or the error
 * envelope, and the HTTP metrics once the response is finished. Tests run every pipeline test through it
 * and compare its answers with Fastify's for the cases both can serve.
 */
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock } from '../core/clock.js';
import { createContext, type RequestContext } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import {
  BadRequestError,
  ClientClosedError,
  type GatewayError,
  PayloadTooLargeError,
  ServiceUnavailableError,
} from '../core/errors.js';
import type { LiveList } from '../core/live-list.js';
import { rawAnswerText } from '../core/raw-answer.js';
import { clientRequestId, GATEWAY_REQUEST_ID_HEADER, REQUEST_ID_HEADER } from '../core/request-id.js';
import type { Handled, Pipeline } from '../pipeline/pipeline.js';
import type { Logger, Redactor } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { createRequestLoggers, type RequestLoggers } from '../telemetry/request-logger.js';
import { isEncodedBody, isJsonContentType } from './content-type.js';
import { normalizeError, retryHeaders, toErrorBody } from './error-envelope.js';
import { writeStream } from './sse-writer.js';
import { answerHeaders, JSON_CONTENT_TYPE, SSE_HEADERS } from './timing.js';

export interface FastLaneDeps {
  clock: Clock;
  /** The pipeline endpoints (routes with path parameters are left to Fastify). */
  codecs: readonly EndpointCodec[];
  pipeline: Pipeline;
  logger: Logger;
  /** The app's request id generator (one sequence for both paths). */
  requestIds: { next(): string };
  lifecycle: {
    readonly shuttingDown: boolean;
    readonly inflight?: LiveList<RequestContext>;
  };
  /** Shutting down: closes keep-alive connections once idle (the app's server). */
  closeIdleConnections: () => void;
  metrics: Metrics;
  redact: Redactor;
  server: {
    body_limit_bytes: number;
    /** Bytes of bodies held at once (0: no bound); past it a body is refused with 503. */
    body_bytes_in_flight?: number;
    trust_proxy: boolean;
    stream_idle_timeout_ms: number;
  };
}

/** Serves `req` when it is the lane's case and returns true; false: Fastify's request, untouched. */
export type FastLane = (req: IncomingMessage, res: ServerResponse) => boolean;

/** @example const lane = createFastLane(deps); http.createServer((q, s) => lane(q, s) || fastify(q, s)); */
export function createFastLane(deps: FastLaneDeps): FastLane {
  const byPath = new Map<string, EndpointCodec>();
  for (const codec of deps.codecs) if (!codec.path.includes(':')) byPath.set(codec.path, codec);
  const limit = deps.server.body_limit_bytes;
  const loggers = createRequestLoggers(deps.logger);
  const held: BodyBudget = { bytes: 0, cap: deps.server.body_bytes_in_flight ?? 0 };
  return (req, res) => {
    if (req.method !== 'POST' || deps.lifecycle.shuttingDown) return false;
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const codec = byPath.get(query < 0 ? url : url.slice(0, query));
    if (codec === undefined) return false;
    const headers = req.headers;
    if (!isJsonContentType(headers['content-type'])) return false;
    if (isEncodedBody(headers['content-encoding'])) return false;
    const length = headers['content-length'];
    if (length !== undefined && !(Number(length) <= limit)) return false;
    try {
      serve(req, res, codec, deps, loggers, held);
    } catch (err) {
      // Nothing before the answer object exists should throw; if it does, the process stays up.
      deps.logger.error({ err }, 'fast lane: request could not be started');
      if (!res.headersSent) {
        const body = JSON.stringify(toErrorBody(normalizeError(err, limit), deps.redact));
        res.writeHead(500, { 'content-type': JSON_CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }
    }
    return true;
  };
}

/** One request, from its arrival to its answer. */
function serve(
  req: IncomingMessage,
  res: ServerResponse,
  codec: EndpointCodec,
  deps: FastLaneDeps,
  loggers: RequestLoggers,
  held: BodyBudget,
): void {
  const { clock } = deps;
  /** This request's share of `held`: its body's bytes, from the first until its answer is done. */
  const mine = { bytes: 0 };
  const arrivedAt = clock.now();
  const id = deps.requestIds.next();
  const clientId = clientRequestId(req.headers['x-request-id']);
  // Every line of this request's log carries its id, and the client's id when it sent one.
  const log = loggers.forRequest(id, clientId);
  const ctx = createContext({
    requestId: id,
    clientRequestId: clientId,
    startedAt: arrivedAt,
    log,
    endpoint: codec.name,
    path: codec.path,
    params: {},
    headers: req.headers,
    clientIp: clientIp(req, deps.server.trust_proxy),
  });
  deps.pipeline.open(ctx);
  const inflight = deps.lifecycle.inflight;
  const node = inflight?.add(ctx);
  res.on('close', () => {
    held.bytes -= mine.bytes;
    mine.bytes = 0;
    if (node) inflight?.delete(node);
    if (!res.writableFinished) {
      ctx.abort.abort(new ClientClosedError());
      return;
    }
    // HTTP RED metrics, as the app's onResponse hook records them (finished responses only).
    const status = String(res.statusCode);
    deps.metrics.httpRequests.inc({ method: 'POST', route: codec.path, status });
    deps.metrics.httpRequestDuration.observe(
      { method: 'POST', route: codec.path },
      (clock.now() - arrivedAt) / 1000,
    );
    // A keep-alive connection whose last request just ended would hold the server open until the grace
    // period runs out: close it once it is idle (next tick, after Node parks it), as the app's hook does.
    if (deps.lifecycle.shuttingDown) setImmediate(deps.closeIdleConnections);
  });
  const answer = new Answer(res, ctx, codec, deps, clientId ?? id);
  readBody(req, deps.server.body_limit_bytes, held, mine, (err, body) => {
    if (err) {
      answer.fail(err);
      return;
    }
    ctx.rawBody = body;
    // Anything that throws — the pipeline, or writing its answer — ends in the error envelope (a 500 for
    // the unexpected), never in an unhandled rejection.
    Promise.resolve()
      .then(() => deps.pipeline.run(ctx))
      .then((run) => {
        try {
          answer.write(run);
        } finally {
          // A JSON answer's settle steps after the cost, once it went out (or could not).
          run.written();
        }
      })
      .catch((e: unknown) => answer.fail(e));
  });
}

/** Writes one request's answer: the pipeline's result, or the error envelope. */
class Answer {
  constructor(
    private readonly res: ServerResponse,
    private readonly ctx: RequestContext,
    private readonly codec: EndpointCodec,
    private readonly deps: FastLaneDeps,
    private readonly clientId: string,
  ) {}

  /** The headers every answer carries: the ids, the stages' and the routing headers, Server-Timing. */
  private headers(): Record<string, string | number> {
    const { ctx } = this;
    return answerHeaders(ctx, this.deps.clock.now(), {
      [GATEWAY_REQUEST_ID_HEADER]: ctx.requestId,
      [REQUEST_ID_HEADER]: ctx.requestId,
      'x-request-id': this.clientId,
    } as Record<string, string | number>);
  }

  write({ result, settled }: Handled): void {
    const { res, ctx } = this;
    if (result.kind === 'json') {
      // The upstream's own text when the answer is the object it was parsed into, else serialised once;
      // one write (head and body together).
      const encoded = this.codec.encode(result);
      const body = rawAnswerText(encoded) ?? JSON.stringify(encoded);
      const headers = this.headers();
      headers['content-type'] = JSON_CONTENT_TYPE;
      headers['content-length'] = Buffer.byteLength(body);
      res.writeHead(200, headers);
      res.end(body);
      return;
    }
    const encoding = this.codec.stream;
    if (!encoding) {
      result.end({ complete: false, error: new Error(`${this.codec.name} cannot stream`) });
      res.destroy();
      return;
    }
    try {
      res.writeHead(200, Object.assign(this.headers(), SSE_HEADERS));
    } catch (err) {
      // Nothing can be sent any more; never leave the client or the upstream hanging.
      result.end({ complete: false, error: err });
      res.destroy();
      return;
    }
    // From here on nothing is retried: the stream writer settles the request whatever happens.
    writeStream(res, ctx, result, {
      encoding,
      idleTimeoutMs: this.deps.server.stream_idle_timeout_ms,
      redact: this.deps.redact,
      settled,
    }).catch((err: unknown) => {
      ctx.log.error({ err }, 'stream writer failed');
      res.destroy();
    });
  }

  /** The error envelope (the app's error handler's answer); the pipeline settles the request first. */
  fail(err: unknown): void {
    const error = normalizeError(err, this.deps.server.body_limit_bytes);
    this.deps.pipeline.reject(this.ctx, error).then(
      () => this.writeError(error),
      () => this.writeError(error),
    );
  }

  private writeError(error: GatewayError): void {
    const { res } = this;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    try {
      this.writeEnvelope(error);
    } catch (err) {
      this.ctx.log.error({ err }, 'error envelope could not be written');
      res.destroy();
    }
  }

  private writeEnvelope(error: GatewayError): void {
    const { res } = this;
    const headers = this.headers();
    const retry = retryHeaders(error);
    if (retry) Object.assign(headers, retry);
    const envelope = toErrorBody(error, this.deps.redact);
    const body = JSON.stringify(this.codec.errorBody ? this.codec.errorBody(error, envelope) : envelope);
    headers['content-type'] = JSON_CONTENT_TYPE;
    headers['content-length'] = Buffer.byteLength(body);
    res.writeHead(this.codec.errorStatus ? this.codec.errorStatus(error) : error.status, headers);
    res.end(body);
  }
}

const BUSY =
  'The gateway holds as many request bodies as it may at once (MAX_BODY_BYTES_IN_FLIGHT); retry shortly.';

/** Bytes of request bodies the lane holds now, and the most it may (0: no bound). */
interface BodyBudget {
  bytes: number;
  readonly cap: number;
}

/**
 * Reads the body whole, as Fastify's string body parser does: Buffers decoded once at the end (multi-byte
 * characters split across chunks stay whole), more than `limit` bytes → 413, a body whose length differs
 * from its Content-Length → 400, a request stream error → 400, bytes that are not UTF-8 → 400. Each chunk
 * is counted in `held` (and `mine`): one that would take the lane past its cap while other bodies are held
 * → 503 with Retry-After (the rest of the body is discarded unread by Node once the answer is written).
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  held: BodyBudget,
  mine: { bytes: number },
  done: (err: unknown, body: string) => void,
): void {
  const declared = req.headers['content-length'];
  const expected = declared === undefined ? Number.NaN : Number(declared);
  const chunks: Buffer[] = [];
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received > limit) {
      detach();
      done(new PayloadTooLargeError(limit), '');
      return;
    }
    if (held.cap > 0 && held.bytes > mine.bytes && held.bytes + chunk.length > held.cap) {
      detach();
      done(new ServiceUnavailableError(BUSY, 1000), '');
      return;
    }
    held.bytes += chunk.length;
    mine.bytes += chunk.length;
    chunks.push(chunk);
  };
  const onEnd = (err?: unknown) => {
    detach();
    if (err != null) {
      done(asBadRequest(err), '');
      return;
    }
    if (!Number.isNaN(expected) && received !== expected) {
      done({ code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' }, '');
      return;
    }
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
    // Decoding would turn bytes that are not UTF-8 into U+FFFD and send the provider another text.
    if (!isUtf8(bytes)) {
      done(
        new BadRequestError('The request body is not valid UTF-8 (RFC 8259 requires it).', 'invalid_json'),
        '',
      );
      return;
    }
    done(null, bytes.toString('utf8'));
  };
  const detach = () => {
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('error', onEnd);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onEnd);
}

/** A request stream error answers 400 (as Fastify marks it), whatever it says. */
function asBadRequest(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) {
    const e = err as { statusCode?: unknown };
    if (!(typeof e.statusCode === 'number' && e.statusCode >= 400)) e.statusCode = 400;
  }
  return err;
}

/**
 * The client's address as Fastify's `request.ip` has it: the socket's peer, or with `trust_proxy` (every
 * proxy trusted) the first address of `X-Forwarded-For`.
 */
export function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? '';
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string') return peer;
  for (const part of header.split(',')) {
    const address = part.trim();
    if (address !== '') return address;
  }
  return peer;
}
