import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { RequestContext } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { clientIp, createFastLane } from './fast-lane.js';

// The lane in front of a fallback that stands for Fastify: which requests does the lane take?
const seen: RequestContext[] = [];
/** Requests whose answer the lane reported written (`Handled.written`). */
const written: string[] = [];
const lifecycle = { shuttingDown: false };
const pipeline = {
  stages: [],
  open(ctx: RequestContext) {
    seen.push(ctx);
  },
  async run(ctx: RequestContext) {
    return {
      result: { kind: 'json', body: { echo: JSON.parse(ctx.rawBody) as unknown } },
      settled: Promise.resolve(),
      written() {
        written.push(ctx.requestId);
      },
    };
  },
  async reject() {},
} as unknown as Pipeline;
const codec = (name: string, path: string) =>
  ({ name, path, encode: (r: { body: unknown }) => r.body }) as unknown as EndpointCodec;
const logger = { child: () => logger } as unknown as Logger;
const noop = { inc() {}, observe() {} };
const lane = createFastLane({
  clock: { now: () => 0, wallNow: () => 0 } as never,
  codecs: [
    codec('chat', '/v1/chat/completions'),
    codec('prompts', '/v1/prompts/:id/completions'),
    {
      ...codec('embeddings', '/v1/embeddings'),
      encode: () => {
        throw new Error('encoder bug');
      },
    } as unknown as EndpointCodec,
  ],
  pipeline,
  logger,
  requestIds: { next: () => 'gw-id' },
  lifecycle,
  closeIdleConnections: () => {},
  metrics: { httpRequests: noop, httpRequestDuration: noop } as unknown as Metrics,
  redact: (s: string) => s,
  server: { body_limit_bytes: 100, trust_proxy: false, stream_idle_timeout_ms: 1000 },
});
let server: Server;
let origin = '';
before(async () => {
  server = createServer((req, res) => {
    if (lane(req, res)) return;
    req.resume();
    res.writeHead(299, { 'content-type': 'text/plain' });
    res.end('fastify');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((resolve) => server.close(resolve)));

async function send(path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${origin}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":1}',
    ...init,
  });
  return { status: res.status, text: await res.text() };
}

test('a JSON POST to a pipeline path is served by the lane, with or without a query string', async () => {
  seen.length = 0;
  written.length = 0;
  assert.deepEqual(await send('/v1/chat/completions'), { status: 200, text: '{"echo":{"a":1}}' });
  assert.deepEqual(await send('/v1/chat/completions?x=1'), { status: 200, text: '{"echo":{"a":1}}' });
  const headers = new Headers({ 'content-type': 'application/json; charset=UTF-8' });
  assert.equal((await send('/v1/chat/completions', { headers })).status, 200);
  assert.equal(seen.length, 3);
  assert.equal(seen[0]?.endpoint, 'chat');
  assert.equal(seen[0]?.requestId, 'gw-id');
  assert.equal(written.length, 3, "each answer's remaining settle steps ran once it was written");
});

test('an answer that cannot be written ends in the 500 envelope, not an unhandled rejection', async () => {
  written.length = 0;
  const res = await fetch(`${origin}/v1/embeddings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"a":1}',
  });
  assert.equal(res.status, 500);
  const body = (await res.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'internal_error');
  assert.doesNotMatch(body.error.message, /encoder bug/, 'no internals in the answer');
  assert.equal(res.headers.get('x-gateway-request-id'), 'gw-id');
  assert.equal(written.length, 1, 'the request is still settled to the end');
});

test('everything else goes to Fastify untouched', async () => {
  seen.length = 0;
  const fastify = { status: 299, text: 'fastify' };
  assert.deepEqual(await send('/v1/chat/completions', { method: 'PUT' }), fastify);
  assert.deepEqual(await send('/v1/chat/completions/'), fastify);
  assert.deepEqual(await send('/%761/chat/completions'), fastify, 'a URL Fastify normalises');
  assert.deepEqual(await send('/v1/prompts/p1/completions'), fastify, 'a route with parameters');
  assert.deepEqual(await send('/v1/prompts/:id/completions'), fastify);
  const text = new Headers({ 'content-type': 'text/plain' });
  assert.deepEqual(await send('/v1/chat/completions', { headers: text }), fastify, '415 is Fastify’s');
  const latin1 = new Headers({ 'content-type': 'application/json; charset=latin1' });
  assert.deepEqual(await send('/v1/chat/completions', { headers: latin1 }), fastify);
  const big = JSON.stringify({ a: 'x'.repeat(200) });
  assert.deepEqual(await send('/v1/chat/completions', { body: big }), fastify, '413 by Content-Length');
  lifecycle.shuttingDown = true;
  try {
    assert.deepEqual(await send('/v1/chat/completions'), fastify, 'the shutting-down 503 is Fastify’s');
  } finally {
    lifecycle.shuttingDown = false;
  }
  assert.equal(seen.length, 0);
});

test("the client's address: the peer, or with trust_proxy the first X-Forwarded-For address", () => {
  const req = (xff?: string) =>
    ({ socket: { remoteAddress: '10.0.0.9' }, headers: { 'x-forwarded-for': xff } }) as never;
  assert.equal(clientIp(req('1.2.3.4, 10.0.0.1'), false), '10.0.0.9');
  assert.equal(clientIp(req('1.2.3.4, 10.0.0.1'), true), '1.2.3.4');
  assert.equal(clientIp(req(' , 5.6.7.8'), true), '5.6.7.8');
  assert.equal(clientIp(req(), true), '10.0.0.9');
  assert.equal(clientIp(req(''), true), '10.0.0.9');
});

test('a failure before the request is under way answers 500 and leaves the process up', async () => {
  const errors: unknown[] = [];
  const broken = createFastLane({
    clock: { now: () => 0, wallNow: () => 0 } as never,
    codecs: [codec('chat', '/v1/chat/completions')],
    pipeline,
    logger: { child: () => logger, error: (o: unknown) => errors.push(o) } as unknown as Logger,
    requestIds: {
      next: () => {
        throw new Error('id generator broke');
      },
    },
    lifecycle,
    closeIdleConnections: () => {},
    metrics: { httpRequests: noop, httpRequestDuration: noop } as unknown as Metrics,
    redact: (s: string) => s,
    server: { body_limit_bytes: 100, trust_proxy: false, stream_idle_timeout_ms: 1000 },
  });
  const other = createServer((req, res) => {
    if (!broken(req, res)) res.end();
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 500);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, 'internal_error');
    assert.equal(errors.length, 1, 'logged');
  } finally {
    await new Promise((resolve) => other.close(resolve));
  }
});
