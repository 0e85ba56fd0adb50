/**
 * Writes a stream result to the client as `text/event-stream`, in the endpoint codec's encoding. Honest
 * about failure: an upstream error or cut-off after the first byte ends the stream with the codec's error
 * event and no completion marker. Always ends the stream result exactly once (`result.end`), which
 * settles the request; the trailer lines settle adds (the cost) go out as SSE comments before the marker.
 */
import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../core/context.js';
import type { StreamEncoding } from '../core/endpoint.js';
import { asGatewayError, ClientClosedError, TimeoutError } from '../core/errors.js';
import type { StreamResult } from '../core/result.js';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { Redactor } from '../telemetry/logger.js';
import { toErrorBody } from './error-envelope.js';

export interface WriteStreamOptions {
  encoding: StreamEncoding;
  idleTimeoutMs: number;
  redact: Redactor;
  /** Resolves once the request was settled (after `result.end`): the trailers are known then. */
  settled: Promise<void>;
}

/**
 * Streams to `res` (headers must already be written). Never throws. Two clocks guard it: the upstream may
 * stay silent for at most `idleTimeoutMs` between chunks, and a client that stops reading (its socket
 * buffer full) is dropped after the same time, so neither side can hold an upstream connection for ever.
 */
export async function writeStream(
  res: ServerResponse,
  ctx: RequestContext,
  result: StreamResult,
  options: WriteStreamOptions,
): Promise<void> {
  const encoder = ctx.request ? options.encoding.open(ctx.request, ctx) : null;
  const idle = idleTimer(ctx, options.idleTimeoutMs);
  const batch = writeBatcher(res);
  // Whether more may be written now (false: wait for `drain`). Synchronous: most chunks never wait, and an
  // async function would cost a promise per chunk.
  const send = (chunk: ChatCompletionChunk): boolean => {
    const text = encoder ? encoder.chunk(chunk) : null;
    return text === null || batch.add(text);
  };
  try {
    for (const chunk of result.head) {
      if (!send(chunk)) await drained(res, ctx, options.idleTimeoutMs);
    }
    // The head (every chunk up to the first that carries something) leaves at once, with the response's
    // headers: the client's first byte never waits for the rest of an upstream read to be relayed.
    batch.now();
    for (;;) {
      idle.arm();
      const next: IteratorResult<ChatCompletionChunk> = await result.rest.next();
      idle.disarm();
      if (next.done) break;
      if (!send(next.value)) await drained(res, ctx, options.idleTimeoutMs);
    }
  } catch (err) {
    idle.stop();
    const error = asGatewayError(ctx.abort.signal.aborted ? ctx.abort.signal.reason : err);
    result.end({ complete: false, error });
    if (error instanceof ClientClosedError || res.destroyed) {
      batch.take();
      res.destroy();
    } else res.end(batch.take() + (encoder ? encoder.error(toErrorBody(error, options.redact), error) : ''));
    return;
  }
  idle.stop();
  result.end({ complete: true, error: null });
  // Settling is usually synchronous work (cost, usage row queued, budgets, log line): the last chunks, the
  // trailer and the end marker then leave in one write. When it waits for I/O, the chunks went out already.
  await options.settled;
  let trailer = '';
  for (const line of ctx.trailers) trailer += `: ${line.replace(/[\r\n]+/g, ' ')}\n\n`;
  res.end(batch.take() + trailer + (encoder ? encoder.end() : ''));
}

/**
 * Coalesces the chunks that are ready in the same turn of the event loop into one socket write: an upstream
 * read often carries several events (the head, every chunk up to the first substantive one, too), and
 * each write costs a system call (on loopback also the receiver's TCP work) plus an HTTP chunk frame. The
 * events of a turn are joined into one string and written on the next tick, after the microtasks that hand
 * over the rest of the ready chunks — never later, so a chunk is not held back waiting for the next one.
 * The last turn's text goes out with the end of the response (`take`), in the same write. `now` sends what
 * is pending at once, in one write, uncorked: the stream's head, which should not wait for the rest of its
 * turn (decision 0172).
 *
 * `add` answers whether more may be added now: false while the client's socket buffer is full (the caller
 * waits for `drain`); what a turn adds on top is bounded by what one upstream read carried.
 */
function writeBatcher(res: ServerResponse): { add(text: string): boolean; now(): void; take(): string } {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '' || res.writableEnded || res.destroyed) return;
    const text = pending;
    pending = '';
    res.write(text);
  };
  return {
    add(text) {
      pending += text;
      if (!scheduled) {
        scheduled = true;
        process.nextTick(flush);
      }
      return !res.writableNeedDrain;
    },
    now() {
      flush();
      // Node's `write` corks the socket until the next tick, after every microtask: uncork it now. The
      // socket's, not the response's `uncork()`: since Node 22 that one counts its own `cork()` calls and,
      // called without one, holds every later chunk back.
      res.socket?.uncork();
    },
    take() {
      const text = pending;
      pending = '';
      return text;
    },
  };
}

/**
 * One timer for the whole stream, refreshed per chunk rather than re-created, that aborts the request when
 * the upstream stays silent while the writer waits for it. It ignores firing while the writer is busy with
 * the client (that wait has its own bound). Silence is the upstream's, not the translation's: when it fires,
 * an upstream heard since (thinking, pings — events with no chunk of their own; `ctx.upstream.heard`,
 * decision 0225) earns the rest of its time, so nothing is done per event.
 */
function idleTimer(ctx: RequestContext, ms: number): { arm(): void; disarm(): void; stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  let armed = false;
  // Whether the timer runs for `ms` (refresh() keeps a timer's duration): not after a shorter re-arm.
  let full = true;
  const fire = () => {
    if (!armed) return;
    const quiet = ctx.upstream.heard?.quietMs() ?? Number.POSITIVE_INFINITY;
    if (quiet < ms) {
      timer = setTimeout(fire, ms - quiet);
      full = false;
      return;
    }
    const provider = ctx.upstream.deployment?.provider ?? 'upstream';
    ctx.abort.abort(new TimeoutError(`${provider} sent nothing for ${ms} ms mid-stream.`, provider));
  };
  return {
    arm() {
      armed = true;
      if (timer !== null && full) timer.refresh();
      else {
        if (timer !== null) clearTimeout(timer);
        timer = setTimeout(fire, ms);
        full = true;
      }
    },
    disarm() {
      armed = false;
    },
    stop() {
      armed = false;
      if (timer !== null) clearTimeout(timer);
    },
  };
}

/** Waits until the client's socket takes more data; a client that stops reading is dropped after `ms`. */
function drained(res: ServerResponse, ctx: RequestContext, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ctx.abort.signal.aborted) return reject(ctx.abort.signal.reason);
    const done = () => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      ctx.abort.signal.removeEventListener('abort', onAbort);
    };
    const onDrain = () => {
      done();
      resolve();
    };
    const onAbort = () => {
      done();
      reject(ctx.abort.signal.reason);
    };
    const timer = setTimeout(() => {
      done();
      const error = new ClientClosedError();
      ctx.abort.abort(error);
      res.destroy();
      reject(error);
    }, ms);
    res.once('drain', onDrain);
    ctx.abort.signal.addEventListener('abort', onAbort, { once: true });
  });
}
