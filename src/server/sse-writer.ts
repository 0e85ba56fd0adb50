/**
 * Writes an opened upstream stream to the client as `text/event-stream`: one `data: <chunk>` event per
 * chunk, `data: [DONE]` after a complete answer. Honest about failure: an upstream error or cut-off after
 * the first byte ends the stream with a `data: {"error": …}` event and no `[DONE]`.
 */
import type { ServerResponse } from 'node:http';
import { asGatewayError, ClientClosedError, TimeoutError } from '../errors.js';
import type { OpenedStream, RequestContext } from '../pipeline/context.js';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { Redactor } from '../telemetry/logger.js';
import { toErrorBody } from './error-envelope.js';

export interface StreamOutcome {
  complete: boolean;
  error: ReturnType<typeof asGatewayError> | null;
}

export interface WriteStreamOptions {
  includeUsage: boolean;
  idleTimeoutMs: number;
  redact: Redactor;
  /** SSE comment lines written just before `[DONE]` (the hooks' `streamEnd`: the cost). */
  beforeDone?: () => Promise<string>;
}

const DONE = 'data: [DONE]\n\n';

/**
 * Streams to `res` (headers must already be written). Never throws. Two clocks guard it: the upstream may
 * stay silent for at most `idleTimeoutMs` between chunks, and a client that stops reading (its socket
 * buffer full) is dropped after the same time, so neither side can hold an upstream connection for ever.
 */
export async function writeStream(
  res: ServerResponse,
  ctx: RequestContext,
  opened: OpenedStream,
  options: WriteStreamOptions,
): Promise<StreamOutcome> {
  const idle = idleTimer(ctx, options.idleTimeoutMs);
  const send = async (chunk: ChatCompletionChunk) => {
    const shaped = shapeChunk(ctx, chunk, options.includeUsage);
    if (shaped === null) return;
    const flushed = res.write(`data: ${JSON.stringify(shaped)}\n\n`);
    // Time to first token (llm_time_to_first_token_seconds): the first chunk that carries output.
    if (ctx.firstTokenAt === null && carriesOutput(shaped)) ctx.firstTokenAt = performance.now();
    if (!flushed) await drained(res, ctx, options.idleTimeoutMs);
  };
  let complete = false;
  try {
    for (const chunk of opened.head) await send(chunk);
    for (;;) {
      idle.arm();
      const next: IteratorResult<ChatCompletionChunk> = await opened.rest.next();
      idle.disarm();
      if (next.done) break;
      await send(next.value);
    }
    complete = true;
    const trailer = options.beforeDone ? await options.beforeDone() : '';
    res.end(trailer + DONE);
    return { complete: true, error: null };
  } catch (err) {
    const error = asGatewayError(ctx.abort.signal.aborted ? ctx.abort.signal.reason : err);
    if (error instanceof ClientClosedError || res.destroyed) {
      res.destroy();
    } else {
      res.end(`data: ${JSON.stringify(toErrorBody(error, options.redact))}\n\n`);
    }
    return { complete: false, error };
  } finally {
    idle.stop();
    opened.close(complete);
  }
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
    const provider = ctx.deployment?.provider ?? 'upstream';
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

function carriesOutput(chunk: ChatCompletionChunk): boolean {
  const delta = chunk.choices[0]?.delta as
    | { content?: string | null; tool_calls?: unknown[]; refusal?: string | null }
    | undefined;
  return Boolean(delta?.content || delta?.refusal || (delta?.tool_calls && delta.tool_calls.length > 0));
}

/** Records usage and finish reason; drops the usage the client did not ask for. */
function shapeChunk(
  ctx: RequestContext,
  chunk: ChatCompletionChunk,
  includeUsage: boolean,
): ChatCompletionChunk | null {
  const finish = chunk.choices[0]?.finish_reason;
  if (finish) ctx.finishReason = finish;
  if (chunk.usage) {
    ctx.usage = chunk.usage;
    if (!includeUsage) {
      if (chunk.choices.length === 0) return null;
      delete chunk.usage;
    }
  } else if (!includeUsage && chunk.usage === null) {
    delete chunk.usage;
  }
  return chunk;
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
