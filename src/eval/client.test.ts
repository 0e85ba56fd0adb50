import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { GatewayClient } from './client.js';

// A stand-in gateway: the first N requests get 429 with Retry-After, then a stream with usage and an X-Cost trailer.
let refusals = 0;
const seen: Array<Record<string, string | string[] | undefined>> = [];
const server = createServer((req, res) => {
  seen.push(req.headers);
  if (refusals > 0) {
    refusals--;
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
    res.end('{"error":{"message":"Rate limit reached"}}');
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'x-cache-status': 'MISS',
    'x-gateway-request-id': 'rid-1',
  });
  const chunk = (delta: unknown, usage: unknown = null) =>
    `data: ${JSON.stringify({ choices: delta ? [{ index: 0, delta }] : [], usage })}\n\n`;
  res.write(chunk({ role: 'assistant', content: '' }));
  res.write(chunk({ content: 'Hello' }));
  res.write(chunk({ content: ' world' }));
  res.write(chunk(null, { prompt_tokens: 12, completion_tokens: 2 }));
  res.end(': X-Cost: 0.000525\n\ndata: [DONE]\n\n');
});
let url = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a 429 is retried after its Retry-After; the stream gives text, TTFT, usage and the X-Cost trailer', async () => {
  refusals = 2;
  seen.length = 0;
  const clock = fakeClock();
  const client = new GatewayClient({ baseUrl: url, apiKey: 'sk-eval', clock, bypassCache: true });
  const out = await client.stream('/v1/chat/completions', { stream: true }, new AbortController().signal);
  assert.equal(out.ok, true, out.error ?? '');
  assert.deepEqual(clock.waits, [2000, 2000]);
  assert.equal(out.retries, 2);
  assert.equal(out.text, 'Hello world');
  assert.equal(out.costUsd, 0.000525);
  assert.equal(out.inputTokens, 12);
  assert.equal(out.outputTokens, 2);
  assert.equal(out.requestId, 'rid-1');
  assert.ok(out.ttftMs !== null && out.ttftMs <= out.totalMs);
  assert.equal(seen[0]?.authorization, 'Bearer sk-eval');
  assert.equal(seen[0]?.['x-cache-bypass'], 'true');
});

test('retries stop at the limit and the last error is returned, not thrown', async () => {
  refusals = 10;
  const clock = fakeClock();
  const client = new GatewayClient({ baseUrl: url, apiKey: null, clock, bypassCache: false, maxRetries: 3 });
  const out = await client.stream('/v1/chat/completions', {}, new AbortController().signal);
  assert.equal(out.ok, false);
  assert.equal(out.status, 429);
  assert.equal(clock.waits.length, 3);
  assert.match(out.error ?? '', /HTTP 429: Rate limit reached/);
  refusals = 0;
});
