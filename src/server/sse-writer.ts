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
}

const DONE = 'data: [DONE]\n\n';

/** Streams to `res` (headers must already be written). Never throws. */
export async function writeStream(
  res: ServerResponse,
  ctx: RequestContext,
  opened: OpenedStream,
  options: WriteStreamOptions,
): Promise<StreamOutcome> {
  const send = async (chunk: ChatCompletionChunk) => {
    const shaped = shapeChunk(ctx, chunk, options.includeUsage);
    if (shaped !== null && !res.write(`data: ${JSON.stringify(shaped)}\n\n`)) await drained(res, ctx);
  };
  try {
    for (const chunk of opened.head) await send(chunk);
    for (;;) {
      const next: IteratorResult<ChatCompletionChunk> = await nextWithin(opened, ctx, options.idleTimeoutMs);
      if (next.done) break;
      await send(next.value);
    }
    res.end(DONE);
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
    opened.close();
  }
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

async function nextWithin(
  opened: OpenedStream,
  ctx: RequestContext,
  idleTimeoutMs: number,
): Promise<IteratorResult<ChatCompletionChunk>> {
  const timer = setTimeout(() => {
    const provider = ctx.deployment?.provider ?? 'upstream';
    ctx.abort.abort(
      new TimeoutError(`${provider} sent nothing for ${idleTimeoutMs} ms mid-stream.`, provider),
    );
  }, idleTimeoutMs);
  try {
    return await opened.rest.next();
  } finally {
    clearTimeout(timer);
  }
}

function drained(res: ServerResponse, ctx: RequestContext): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ctx.abort.signal.aborted) return reject(ctx.abort.signal.reason);
    const onDrain = () => {
      ctx.abort.signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = () => {
      res.off('drain', onDrain);
      reject(ctx.abort.signal.reason);
    };
    res.once('drain', onDrain);
    ctx.abort.signal.addEventListener('abort', onAbort, { once: true });
  });
}
