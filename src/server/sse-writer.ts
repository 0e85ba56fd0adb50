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
  const encoder = ctx.request ? options.encoding.open(ctx.request) : null;
  const idle = idleTimer(ctx, options.idleTimeoutMs);
  const batch = writeBatcher(res);
  const send = async (chunk: ChatCompletionChunk) => {
    const text = encoder ? encoder.chunk(chunk) : null;
    if (text === null) return;
    if (!batch.write(text)) await drained(res, ctx, options.idleTimeoutMs);
  };
  try {
    for (const chunk of result.head) await send(chunk);
    for (;;) {
      idle.arm();
      const next: IteratorResult<ChatCompletionChunk> = await result.rest.next();
      idle.disarm();
      if (next.done) break;
      await send(next.value);
    }
  } catch (err) {
    idle.stop();
    batch.flush();
    const error = asGatewayError(ctx.abort.signal.aborted ? ctx.abort.signal.reason : err);
    result.end({ complete: false, error });
    if (error instanceof ClientClosedError || res.destroyed) res.destroy();
    else res.end(encoder ? encoder.error(toErrorBody(error, options.redact)) : '');
    return;
  }
  idle.stop();
  batch.flush();
  result.end({ complete: true, error: null });
  await options.settled;
  let trailer = '';
  for (const line of ctx.trailers) trailer += `: ${line.replace(/[\r\n]+/g, ' ')}\n\n`;
  res.end(trailer + (encoder ? encoder.end() : ''));
}

/**
 * Coalesces the chunks that are ready in the same turn of the event loop into one socket write: an upstream
 * read often carries several events (and the head holds every chunk up to the first substantive one), and a
 * `write` per chunk costs a system call each. The socket is corked at the first write of a turn and uncorked
 * on the next tick, after the microtasks that hand over the rest of the ready chunks — never later, so a
 * chunk is not held back waiting for the next one.
 */
function writeBatcher(res: ServerResponse): { write(text: string): boolean; flush(): void } {
  let corked = false;
  const flush = () => {
    if (!corked) return;
    corked = false;
    res.uncork();
  };
  return {
    write(text) {
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(flush);
      }
      return res.write(text);
    },
    flush,
  };
}

/**
 * One timer for the whole stream, refreshed per chunk rather than re-created, that aborts the request when
 * the upstream stays silent while the writer waits for it. It ignores firing while the writer is busy with
 * the client (that wait has its own bound).
 */
function idleTimer(ctx: RequestContext, ms: number): { arm(): void; disarm(): void; stop(): void } {
  let timer: NodeJS.Timeout | null = null;
  let armed = false;
  const fire = () => {
    if (!armed) return;
    const provider = ctx.upstream.deployment?.provider ?? 'upstream';
    ctx.abort.abort(new TimeoutError(`${provider} sent nothing for ${ms} ms mid-stream.`, provider));
  };
  return {
    arm() {
      armed = true;
      if (timer === null) timer = setTimeout(fire, ms);
      else timer.refresh();
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
