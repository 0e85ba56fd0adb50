import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import {
  ClientClosedError,
  InvalidRequestError,
  ProviderUnavailableError,
  RateLimitError,
} from '../core/errors.js';
import { createDispatcher, type PostOptions, target } from './http.js';
import { postJson } from './json-call.js';

/** The loopback upstream: each path is one behaviour. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/echo': (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: JSON.parse(body), auth: req.headers.authorization }));
    });
  },
  '/chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"choices":[{"message":{"content":"');
    res.write('é'.repeat(5000));
    res.end('"}}]}');
  },
  '/bom': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"ok":true}')]));
  },
  '/not-json': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('<html>oops</html>');
  },
  '/429': (_req, res) => {
    res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
    res.end(JSON.stringify({ error: { message: 'slow down' } }));
  },
  '/400-huge': (_req, res) => {
    // Chunked (no length): past the 64 KiB bound and below the dispatcher's maxResponseSize.
    res.writeHead(400, { 'content-type': 'application/json' });
    for (let i = 0; i < 9; i++) res.write('x'.repeat(10_000));
    res.end();
  },
  '/big': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(`{"a":"${'y'.repeat(300_000)}"}`);
  },
  '/hang': (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"partial":');
  },
};

const server = createServer((req, res) => routes[req.url ?? '']?.(req, res));
let origin = '';
const dispatcher = createDispatcher({
  connectionsPerOrigin: 4,
  keepAliveTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  maxResponseBytes: 100_000,
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await dispatcher.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function options(path: string, signal = new AbortController().signal): PostOptions {
  return {
    provider: 'mock',
    url: target(`${origin}${path}`),
    headers: { 'content-type': 'application/json', authorization: 'Bearer k' },
    body: JSON.stringify({ hello: 'wörld' }),
    signal,
    apiKeyEnv: 'MOCK_KEY',
    clock: { wallNow: () => 0 },
  };
}

test('a 2xx answer comes back parsed, with its status; the body and headers reach the upstream', async () => {
  const answer = await postJson(dispatcher, options('/echo'));
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, { got: { hello: 'wörld' }, auth: 'Bearer k' });
});

test('an answer in many chunks, multi-byte characters split across them, is decoded whole', async () => {
  const answer = await postJson(dispatcher, options('/chunked'));
  const json = answer.json as { choices: [{ message: { content: string } }] };
  assert.equal(json.choices[0].message.content, 'é'.repeat(5000));
});

test('a leading byte-order mark is dropped, as undici’s body.json() does', async () => {
  assert.deepEqual((await postJson(dispatcher, options('/bom'))).json, { ok: true });
});

test('a 2xx body that is not JSON is a provider failure naming the provider, not a crash', async () => {
  await assert.rejects(postJson(dispatcher, options('/not-json')), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /mock answered with a body that is not valid JSON/);
    return true;
  });
});

test('a 429 becomes a RateLimitError with the upstream message and its Retry-After', async () => {
  await assert.rejects(postJson(dispatcher, options('/429')), (err: unknown) => {
    assert.ok(err instanceof RateLimitError);
    assert.match(err.message, /slow down/);
    assert.equal(err.retryAfterMs, 7000);
    return true;
  });
});

test('an error body past the 64 KiB read bound still ends as the error of its status', async () => {
  await assert.rejects(postJson(dispatcher, options('/400-huge')), (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError);
    assert.match(err.message, /HTTP 400/);
    return true;
  });
});

test("an answer over the dispatcher's maxResponseSize is refused as a provider failure", async () => {
  await assert.rejects(postJson(dispatcher, options('/big')), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /larger than the gateway accepts/);
    return true;
  });
});

test("an abort mid-body rejects with the signal's reason (a GatewayError) and frees the call", async () => {
  const controller = new AbortController();
  const pending = postJson(dispatcher, options('/hang', controller.signal));
  // The headers and the first bytes have arrived when the echo of a second call does.
  await postJson(dispatcher, options('/echo'));
  controller.abort(new ClientClosedError());
  await assert.rejects(pending, (err: unknown) => err instanceof ClientClosedError);
});

test('a signal aborted before the call is made rejects without reaching the upstream', async () => {
  const controller = new AbortController();
  controller.abort(new ClientClosedError());
  await assert.rejects(
    postJson(dispatcher, options('/echo', controller.signal)),
    (err: unknown) => err instanceof ClientClosedError,
  );
});

test('an upstream that cannot be reached is a provider failure naming the code', async () => {
  const opts = { ...options('/echo'), url: target('http://127.0.0.1:9/x') };
  await assert.rejects(postJson(dispatcher, opts), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /could not be reached \(ECONNREFUSED\)/);
    return true;
  });
});
