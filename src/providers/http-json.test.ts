import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  ClientClosedError,
  GatewayError,
  ProviderError,
  ProviderUnavailableError,
  RateLimitError,
} from '../core/errors.js';
import { rawAnswerText } from '../core/raw-answer.js';
import { createDispatcher, type PostOptions, post, readJson, target } from './http.js';
import { postJson } from './http-json.js';

/** The loopback upstream: each path answers one way; `seen` counts the requests that arrived. */
let seen = 0;
let lastBody = '';
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  seen++;
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    lastBody = Buffer.concat(chunks).toString('utf8');
    const json = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    switch (req.url) {
      case '/ok':
        return json(200, JSON.stringify({ id: 'x', echo: lastBody.length, text: 'é ✓' }));
      case '/split': {
        // Multi-byte characters split across chunks stay whole.
        const bytes = Buffer.from(JSON.stringify({ text: 'héllo ✓ wörld' }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(bytes.subarray(0, 5));
        res.write(bytes.subarray(5, 12));
        return res.end(bytes.subarray(12));
      }
      case '/bom':
        return json(200, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}')]));
      case '/not-json':
        return json(200, '<html>oops</html>');
      case '/empty':
        return json(200, '');
      case '/limited':
        return json(429, JSON.stringify({ error: { message: 'slow down' } }), { 'retry-after': '2' });
      case '/down-big':
        return json(500, 'x'.repeat(200_000));
      case '/huge':
        return json(200, JSON.stringify({ pad: 'y'.repeat(300_000) }));
      case '/hang':
        return; // never answers
      default:
        return json(404, '{}');
    }
  });
});

let origin = '';
const dispatcher = createDispatcher({
  connectionsPerOrigin: 8,
  keepAliveTimeoutMs: 1000,
  connectTimeoutMs: 1000,
  maxResponseBytes: 256 * 1024,
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

function options(path: string, signal = new AbortController().signal, base = origin): PostOptions {
  return {
    provider: 'up',
    url: target(`${base}${path}`),
    headers: { 'content-type': 'application/json' },
    body: '{"q":"hello"}',
    signal,
    apiKeyEnv: 'UP_KEY',
    clock: { wallNow: () => Date.now() },
  };
}

/** What `post` + `readJson` (the streamed-body path) make of the same answer. */
async function viaPost(path: string): Promise<unknown> {
  const o = options(path);
  const res = await post(dispatcher, o);
  return readJson('up', res, o.signal);
}

/** An error's class, status, code and message, for comparing both paths. */
async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GatewayError, `a GatewayError, got ${String(err)}`);
    const upstream = err instanceof ProviderError ? err.upstreamStatus : undefined;
    return { kind: err.constructor.name, status: err.status, code: err.code, message: err.message, upstream };
  }
  assert.fail('expected a rejection');
}

describe('postJson', () => {
  test('a 2xx answer is parsed once, with the status', async () => {
    const answer = await postJson(dispatcher, options('/ok'));
    assert.deepEqual(answer, { statusCode: 200, json: { id: 'x', echo: 13, text: 'é ✓' } });
    assert.equal(lastBody, '{"q":"hello"}');
    assert.deepEqual((await postJson(dispatcher, options('/split'))).json, { text: 'héllo ✓ wörld' });
    assert.deepEqual((await postJson(dispatcher, options('/bom'))).json, { a: 1 });
  });

  test('the answer keeps the text it was parsed from (pass-through), without a byte order mark', async () => {
    const ok = await postJson(dispatcher, options('/ok'));
    assert.equal(rawAnswerText(ok.json), JSON.stringify({ id: 'x', echo: 13, text: 'é ✓' }));
    const split = await postJson(dispatcher, options('/split'));
    assert.equal(rawAnswerText(split.json), JSON.stringify({ text: 'héllo ✓ wörld' }));
    assert.equal(rawAnswerText((await postJson(dispatcher, options('/bom'))).json), '{"a":1}');
    assert.equal(rawAnswerText({ ...(ok.json as object) }), undefined, 'a copy has none');
  });

  test('errors are the ones post + readJson give, for every kind of answer', async () => {
    for (const path of ['/not-json', '/empty', '/limited', '/down-big', '/huge', '/missing']) {
      const ours = await failure(postJson(dispatcher, options(path)));
      const theirs = await failure(viaPost(path));
      assert.deepEqual(ours, theirs, path);
    }
    const limited = await postJson(dispatcher, options('/limited')).catch((e: unknown) => e);
    assert.ok(limited instanceof RateLimitError);
    assert.equal(limited.retryAfterMs, 2000);
    assert.match(limited.message, /slow down/);
    const big = await failure(postJson(dispatcher, options('/huge')));
    assert.match(big.message, /larger than the gateway accepts/);
  });

  test('a refused connection is a provider failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const err = await postJson(dispatcher, options('/ok', undefined, base)).catch((e: unknown) => e);
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /could not be reached \(ECONNREFUSED\)/);
  });

  test('a connection cut after the head: the provider broke off its answer (it was reached)', async () => {
    const cutting = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"x","te');
      setImmediate(() => res.socket?.destroy());
    });
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(cutting.address() as AddressInfo).port}`;
    const err = await postJson(dispatcher, options('/ok', undefined, base)).catch((e: unknown) => e);
    await new Promise((resolve) => cutting.close(resolve));
    assert.ok(err instanceof ProviderUnavailableError);
    assert.match(err.message, /broke off its answer/);
  });

  test('an abort cuts the call and rethrows the reason; an aborted signal sends nothing', async () => {
    const controller = new AbortController();
    const pending = postJson(dispatcher, options('/hang', controller.signal));
    const before = seen;
    while (seen === before) await new Promise((resolve) => setImmediate(resolve));
    const reason = new ClientClosedError();
    controller.abort(reason);
    assert.equal(await pending.catch((e: unknown) => e), reason);

    const count = seen;
    const aborted = new AbortController();
    aborted.abort(reason);
    assert.equal(await postJson(dispatcher, options('/ok', aborted.signal)).catch((e: unknown) => e), reason);
    // The next call goes out, and the aborted one never did.
    await postJson(dispatcher, options('/ok'));
    assert.equal(seen, count + 1);
  });
});
