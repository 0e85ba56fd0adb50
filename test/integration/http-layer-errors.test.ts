/**
 * Answers of the HTTP layer, against a real gateway (decision 0238): errors Node's parser raises (431,
 * 400, 408) in OpenAI's envelope with request ids; an oversized body answered 413 to the official SDK
 * (drained, not reset, so the SDK does not retry it); 415s that name the Content-Type sent; and 422s that
 * quote a client's value bounded, in the answer and the log.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { postJson, useGateway } from '../helpers/gateway.js';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

interface RawAnswer {
  head: string;
  status: number;
  headers: Map<string, string>;
  body: string;
  /** How the connection ended: 'end' (closed cleanly) or the error code (a reset). */
  ended: string;
}

/** Opens a connection, sends `parts` (one write each, in order) and reads until the connection ends. */
function rawExchange(
  url: string,
  parts: Array<string | Buffer>,
  onOpen?: (s: Socket) => void,
): Promise<RawAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    let ended = 'end';
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => {
      ended = e.code ?? 'error';
    });
    socket.on('close', () => resolve(parse(Buffer.concat(chunks).toString('latin1'), ended)));
    socket.on('connect', () => {
      onOpen?.(socket);
      for (const part of parts) if (!socket.destroyed) socket.write(part);
    });
  });
}

function parse(text: string, ended: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  return { head, status, headers, body: split < 0 ? '' : text.slice(split + 4), ended };
}

const UUID7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The answer is OpenAI's error envelope with the gateway's ids, and the log line carries the same id. */
function assertEnvelope(answer: RawAnswer, status: number, code: string, message: RegExp, logs: string[]) {
  assert.equal(answer.status, status, answer.head);
  const id = answer.headers.get('x-gateway-request-id') ?? '';
  assert.match(id, UUID7, answer.head);
  assert.equal(answer.headers.get('request-id'), id);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(answer.body) as ErrorBody;
  assert.deepEqual(Object.keys(body.error), ['message', 'type', 'param', 'code']);
  assert.equal(body.error.type, 'invalid_request_error');
  assert.equal(body.error.code, code);
  assert.equal(body.error.param, null);
  assert.match(body.error.message, message);
  assert.equal(answer.ended, 'end', 'the connection is closed, not reset');
  assert.ok(
    logs.some((line) => line.includes(`"request_id":"${id}"`) && line.includes('"http.client_error"')),
    'a log line with the answer’s request id',
  );
}

describe('errors of the HTTP layer: the OpenAI envelope and request ids; bounded 422s', () => {
  const t = useGateway();
  const chat = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
  const post = (headers: string, body: string) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n${headers}\r\n${body}`;

  test('431: a query string over the header limit (an SDK listing models with a long URL)', async () => {
    const answer = await rawExchange(t.gw.url, [
      `GET /v1/models?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: gw\r\n\r\n`,
    ]);
    assertEnvelope(
      answer,
      431,
      'headers_too_large',
      /larger than the \d+ bytes the gateway accepts/,
      t.gw.logs,
    );
  });

  test('400 naming the problem: bad chunk, Content-Length with Transfer-Encoding, two lengths, method, header', async () => {
    const cases: Array<[string, RegExp]> = [
      [
        post('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n'),
        /chunk size that is not a hexadecimal/,
      ],
      [
        post('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'),
        /Content-Length or Transfer-Encoding is not valid \(Transfer-Encoding can't be present with Content-Length\)/,
      ],
      [post('Content-Length: 5\r\nContent-Length: 6\r\n', chat), /\(Duplicate Content-Length\)/],
      [post('Content-Length: -1\r\n', chat), /Content-Length or Transfer-Encoding is not valid/],
      ['BREW /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n\r\n', /method is not one HTTP\/1\.1 knows/],
      [post('X-Request-ID: a\x7fb\r\nContent-Length: 2\r\n', '{}'), /character HTTP does not allow/],
      ['GET /health HTTP/9.9\r\nHost: gw\r\n\r\n', /HTTP version is not valid/],
    ];
    for (const [request, message] of cases) {
      const answer = await rawExchange(t.gw.url, [Buffer.from(request, 'latin1')]);
      assertEnvelope(answer, 400, 'malformed_http', message, t.gw.logs);
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('400: an HTTP/1.1 request without Host (Node would answer with an empty body)', async () => {
    const answer = await rawExchange(t.gw.url, ['GET /health HTTP/1.1\r\nX-Request-ID: mine-1\r\n\r\n']);
    assertEnvelope(answer, 400, 'malformed_http', /needs a Host header/, t.gw.logs);
    assert.equal(answer.headers.get('x-request-id'), 'mine-1');
  });

  test('408: a request not received in time names the limit and echoes the client id', async () => {
    // Node checks request timeouts every 30 s: the test raises Node's own event on the server's socket.
    const server = t.gw.gateway.app.server;
    let serverSide: Socket | undefined;
    const seen = new Promise<void>((resolve) => {
      server.once('request', (req) => {
        serverSide = req.socket;
        resolve();
      });
    });
    const exchange = rawExchange(t.gw.url, [post('X-Request-ID: slow-1\r\nContent-Length: 100\r\n', '{"mo')]);
    await seen;
    const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    server.emit('clientError', timeout, serverSide);
    const answer = await exchange;
    assertEnvelope(answer, 408, 'request_timeout', /not received completely within 60000 ms/, t.gw.logs);
    assert.equal(answer.headers.get('x-request-id'), 'slow-1');
  });

  test('a 2 MB role: the 422 quotes 64 characters and the length; no log line grows with it', async () => {
    const big = 'x'.repeat(2_000_000);
    const res = await postJson(t.chatUrl, { model: 'gpt-4o', messages: [{ role: big, content: 'hi' }] });
    const text = await res.text();
    assert.equal(res.status, 422, text.slice(0, 200));
    assert.ok(text.length < 400, `answer of ${text.length} bytes`);
    const body = JSON.parse(text) as ErrorBody;
    assert.equal(
      body.error.message,
      `messages[0].role has an invalid value "${'x'.repeat(64)}…" (2000000 characters).`,
    );
    const id = res.headers.get('x-gateway-request-id');
    const lines = t.gw.logs.filter((line) => id !== null && line.includes(id));
    assert.ok(lines.length > 0);
    for (const line of lines) assert.ok(line.length < 4000, `a log line of ${line.length} characters`);
  });
});

describe('an HTTP-layer error once an answer has started writes nothing into it', () => {
  const t = useGateway({}, { frameIntervalMs: 30 });

  test('mid-stream: the connection is closed, no error text is spliced into the stream', async () => {
    const server = t.gw.gateway.app.server;
    let serverSide: Socket | undefined;
    server.once('request', (req) => {
      serverSide = req.socket;
    });
    const body = JSON.stringify({
      model: 'gpt-4o',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const request = `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const answer = await rawExchange(t.gw.url, [request], (s) => {
      s.once('data', () => {
        const late = Object.assign(new Error('late'), { code: 'HPE_INVALID_CHUNK_SIZE' });
        server.emit('clientError', late, serverSide);
      });
    });
    assert.equal(answer.status, 200);
    assert.ok(!answer.body.includes('malformed_http'), answer.body);
    assert.ok(!answer.body.includes('[DONE]'), 'the stream was cut');
  });
});

describe('a body over MAX_BODY_BYTES reaches the official openai SDK as the 413', () => {
  const t = useGateway();

  test('an 11 MB and a 20 MB message: APIError 413 request_too_large, one attempt each (no retried upload)', async () => {
    let attempts = 0;
    const client = new OpenAI({
      baseURL: `${t.gw.url}/v1`,
      apiKey: 'x',
      // The SDK's default: two retries of anything it sees as a connection error.
      maxRetries: 2,
      fetch: (url: string | URL | Request, init?: RequestInit) => {
        attempts++;
        return fetch(url, init);
      },
    });
    for (const size of [11_000_000, 20_000_000, 11_000_000, 20_000_000]) {
      attempts = 0;
      const error = await client.chat.completions
        .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'a'.repeat(size) }] })
        .then(
          () => null,
          (e: unknown) => e,
        );
      assert.ok(error instanceof OpenAI.APIError, `${size}: ${String(error)}`);
      assert.equal(error.status, 413, `${size}: ${error.message}`);
      assert.equal(error.code, 'request_too_large');
      assert.equal(attempts, 1, `${size}: the SDK sent the body ${attempts} times`);
    }
    assert.equal(t.mock.requests.length, 0);
  });
});

describe('the unread rest of an oversized body is drained up to a bound, then the connection is cut', () => {
  // Bodies larger than the kernel's socket buffers: closing with them unread resets the connection.
  const LIMIT = 2 * 1024 * 1024;
  const t = useGateway({ env: { MAX_BODY_BYTES: String(LIMIT) } });
  const head = (extra: string) =>
    `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n${extra}\r\n`;
  const next = 'GET /health/live HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n';

  test('Content-Length over the limit, within 4× of it: the 413, no reset, the next request served', async () => {
    const size = 3 * LIMIT;
    const answer = await rawExchange(t.gw.url, [
      head(`Content-Length: ${size}\r\n`),
      Buffer.alloc(size, 'a'),
      next,
    ]);
    assert.equal(answer.ended, 'end', 'closed cleanly, never reset');
    assert.equal(answer.status, 413, answer.head);
    const first = JSON.parse(answer.body.slice(0, answer.body.indexOf('}}') + 2)) as ErrorBody;
    assert.equal(first.error.code, 'request_too_large');
    assert.match(answer.body, /HTTP\/1\.1 200 OK/, 'the request after the drained body is served');
  });

  test('a chunked body growing past the limit (the fast lane): the 413, then drained', async () => {
    const piece = 256 * 1024;
    const chunk = `${piece.toString(16)}\r\n${'a'.repeat(piece)}\r\n`;
    const answer = await rawExchange(t.gw.url, [
      head('Transfer-Encoding: chunked\r\n'),
      ...Array.from({ length: 24 }, () => chunk),
      '0\r\n\r\n',
      next,
    ]);
    assert.equal(answer.ended, 'end', 'closed cleanly, never reset');
    assert.equal(answer.status, 413, answer.head);
    assert.match(answer.body, /HTTP\/1\.1 200 OK/);
  });

  test('past 4× the limit the connection is cut at once (the rest is never waited for)', async () => {
    const started = Date.now();
    const answer = await rawExchange(t.gw.url, [
      head(`Content-Length: ${100 * LIMIT}\r\n`),
      ...Array.from({ length: 5 }, () => Buffer.alloc(LIMIT, 'a')),
    ]);
    assert.ok(Date.now() - started < 5_000, 'cut at the byte bound, not at the time bound');
    assert.ok(!/HTTP\/1\.1 200/.test(answer.body), 'nothing after the 413');
  });
});

describe('415 names the Content-Type sent', () => {
  const ADMIN = 'admin-SECRET-layer-0123456789abcdef';
  const t = useGateway({ env: { GATEWAY_ADMIN_KEY: ADMIN } });

  test('`application/json, text/plain` and an empty Content-Type: a 415 naming it, on every kind of route', async () => {
    const cases: Array<[string, RegExp]> = [
      ['application/json, text/plain', /received Content-Type "application\/json, text\/plain"/],
      ['', /received an empty Content-Type header/],
    ];
    for (const path of ['/v1/chat/completions', '/v1/embeddings', '/admin/keys']) {
      for (const [type, message] of cases) {
        const answer = await rawExchange(t.gw.url, [
          `POST ${path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${ADMIN}\r\nContent-Type: ${type}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        ]);
        assert.equal(answer.status, 415, `${path} "${type}": ${answer.head}`);
        const body = JSON.parse(answer.body) as ErrorBody;
        assert.equal(body.error.code, 'unsupported_media_type');
        assert.match(body.error.message, message, `${path} "${type}"`);
      }
    }
  });
});
