import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import pino from 'pino';
import { createContext, type RequestContext } from '../core/context.js';
import { ProviderUnavailableError } from '../core/errors.js';
import { streamResult } from '../core/result.js';
import { CHAT_STREAM } from '../endpoints/chat/codec.js';
import type { ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import { writeStream } from './sse-writer.js';

/**
 * A response that records each write (a `writev` of corked writes counts as one). Like Node's
 * `ServerResponse`, a write corks the socket until the next tick; it is its own socket.
 */
class RecordingResponse extends Writable {
  readonly writes: string[] = [];
  get socket(): Writable {
    return this;
  }
  constructor() {
    super();
    const write = this.write.bind(this) as (...args: unknown[]) => boolean;
    this.write = ((...args: unknown[]) => {
      if (!this.writableCorked) {
        this.cork();
        process.nextTick(() => this.uncork());
      }
      return write(...args);
    }) as Writable['write'];
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.writes.push(chunk.toString());
    done();
  }
  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    this.writes.push(chunks.map((c) => c.chunk.toString()).join(''));
    done();
  }
}

const chunk = (content: string): ChatCompletionChunk =>
  ({
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o',
    choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }],
  }) as unknown as ChatCompletionChunk;
const event = (content: string) => `data: ${JSON.stringify(chunk(content))}\n\n`;

function context(): RequestContext {
  const ctx = createContext({
    requestId: 'r',
    log: pino({ level: 'silent' }),
    startedAt: 0,
    endpoint: 'chat',
  });
  const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: true } as ChatRequest;
  ctx.request = { kind: 'chat', model: 'gpt-4o', stream: true, body };
  return ctx;
}

/** Streams head `a` and then `rest` into `res`, with a cost trailer once settled. */
async function stream(
  res: ServerResponse,
  ctx: RequestContext,
  rest: AsyncGenerator<ChatCompletionChunk>,
): Promise<void> {
  const result = streamResult({ head: [chunk('a')], rest, close() {} }, 'upstream', null, () => 0);
  const settled = result.done.then(() => {
    ctx.trailers.push('cost 0.000001');
  });
  await writeStream(res, ctx, result, {
    encoding: CHAT_STREAM as NonNullable<typeof CHAT_STREAM>,
    idleTimeoutMs: 10_000,
    redact: (text) => text,
    settled,
  });
}

async function write(ctx: RequestContext, rest: AsyncGenerator<ChatCompletionChunk>) {
  const res = new RecordingResponse();
  await stream(res as unknown as ServerResponse, ctx, rest);
  await new Promise((resolve) => setImmediate(resolve));
  return res.writes;
}

test('over a real HTTP response every event arrives, in order, with the trailer and [DONE]', async () => {
  // Node's own response: its cork bookkeeping differs between Node versions (decision 0172).
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    void stream(
      res,
      context(),
      (async function* () {
        yield chunk('b');
        yield chunk('c');
        await new Promise((resolve) => setImmediate(resolve));
        yield chunk('d');
      })(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const body = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    assert.equal(
      body,
      `${event('a')}${event('b')}${event('c')}${event('d')}: cost 0.000001\n\ndata: [DONE]\n\n`,
    );
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('the head leaves at once; the events ready in the next turn leave in one write with the trailer and [DONE]', async () => {
  const writes = await write(
    context(),
    (async function* () {
      yield chunk('b');
      yield chunk('c');
    })(),
  );
  assert.deepEqual(writes, [event('a'), `${event('b')}${event('c')}: cost 0.000001\n\ndata: [DONE]\n\n`]);
});

test('each upstream read is written when it arrives, never held for the next one', async () => {
  const writes = await write(
    context(),
    (async function* () {
      yield chunk('b');
      await new Promise((resolve) => setImmediate(resolve));
      yield chunk('c');
    })(),
  );
  assert.deepEqual(writes, [event('a'), event('b'), `${event('c')}: cost 0.000001\n\ndata: [DONE]\n\n`]);
});

test('a failure after the first bytes sends what was ready, then the error event, and no [DONE]', async () => {
  const writes = await write(
    context(),
    (async function* () {
      yield chunk('b');
      throw new ProviderUnavailableError(
        'openai closed the stream before the answer was complete.',
        'openai',
      );
    })(),
  );
  const body = writes.join('');
  assert.ok(body.startsWith(`${event('a')}${event('b')}data: {"error":`), body);
  assert.ok(!body.includes('[DONE]'));
});
