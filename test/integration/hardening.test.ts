/**
 * Edge cases a production gateway meets: paths that reach a route in disguise, header values a client or
 * upstream chose, a full upstream connection pool, clients that stop reading, connection reuse after
 * streams, and Server-Timing that tells upstream time from the gateway's own.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { beforeEach, describe, test } from 'node:test';
import { headerSafe } from '../../src/server/timing.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

/** Sends raw HTTP/1.1 text and returns the raw answer (the connection is closed by the request). */
function rawHttp(url: string, text: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () => socket.end(text));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      out += d;
    });
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}

function post(path: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

describe('auth is decided by the matched route, not the raw URL', () => {
  const hash = createHash('sha256').update('sk-gw-valid-key-123').digest('hex');
  const t = useGateway({
    yaml: `auth:\n  mode: keys\n  keys:\n    - { name: k, key_sha256: ${hash}, user_id: u }\n`,
  });

  test('encoded and absolute-form paths to the chat route still need a key; nothing reaches the provider', async () => {
    const body = JSON.stringify({ model: 'gpt-4o', messages: userMessage() });
    for (const path of ['/v1/chat/completions', '/%761/chat/completions', 'http://gw/v1/chat/completions']) {
      const answer = await rawHttp(t.gw.url, post(path, body));
      assert.match(answer, /^HTTP\/1\.1 401 /, `${path} → ${answer.split('\r\n')[0]}`);
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('a malformed URL gets the OpenAI error envelope and a request id', async () => {
    const answer = await rawHttp(t.gw.url, 'GET /v1/%zz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /\r\nx-request-id: [0-9a-f-]{36}\r\n/i);
    assert.match(
      answer,
      /\r\nx-gateway-request-id: [0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\r\n/i,
    );
    const json = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { type: string } };
    assert.equal(json.error.type, 'invalid_request_error');
  });
});

describe('NUL (or a lone surrogate) in an admin or stored-response URL or an admin body: 400, not a 5xx from the database', () => {
  const ADMIN = 'admin-SECRET-hardening-0123456789';
  const t = useGateway({ env: { GATEWAY_ADMIN_KEY: ADMIN } });

  test('ids, filters and body strings with NUL are refused; the same requests without it work', async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    for (const path of [
      '/admin/keys/%00',
      '/admin/keys?user_id=a%00',
      '/admin/requests?model=%00',
      '/admin/spend?tag=%00',
    ]) {
      const res = await fetch(`${t.gw.url}${path}`, { headers: admin });
      assert.equal(res.status, 400, `${path}: ${await res.text()}`);
    }
    const key = await postJson(`${t.gw.url}/admin/keys`, { name: 'n\u0000', user_id: 'u' }, admin);
    assert.equal(key.status, 400, await key.text());
    const created = await postJson(`${t.gw.url}/admin/keys`, { name: 'n', user_id: 'u' }, admin);
    assert.equal(created.status, 201);
    const { key: apiKey, id } = (await created.json()) as { key: string; id: string };
    // A lone surrogate, like NUL, cannot be stored as sent (it became U+FFFD): 400 too.
    for (const name of ['\udfffg', 'x\ud800']) {
      const patched = await fetch(`${t.gw.url}/admin/keys/${id}`, {
        method: 'PATCH',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      const text = await patched.text();
      assert.equal(patched.status, 400, text);
      assert.match(text, /lone surrogate/);
    }
    const stored = await fetch(`${t.gw.url}/v1/responses/resp_%00`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    assert.equal(stored.status, 400, await stored.text());
    const missing = await fetch(`${t.gw.url}/v1/responses/resp_00`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    assert.equal(missing.status, 404);
  });
});

describe('responses with model names that are not valid header text', () => {
  const t = useGateway();

  for (const stream of [false, true]) {
    test(`${stream ? 'stream' : 'non-stream'}: X-Model is percent-encoded, the answer arrives`, async () => {
      const res = await postJson(t.chatUrl, {
        model: 'openai/模型\u0007',
        messages: userMessage(),
        stream,
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-model'), encodeURIComponent('模型\u0007'));
      if (stream) assert.equal((await readSseData(res.response)).at(-1), '[DONE]');
      else assert.equal(((await res.json()) as { model: string }).model, '模型\u0007');
    });
  }
});

describe('model names with NUL or a lone surrogate', () => {
  const t = useGateway();

  test('every endpoint refuses it naming `model` (4xx); nothing reaches the upstream', async () => {
    const input = userMessage();
    for (const model of ['gpt-4o\u0000', 'openai/gpt-4o\u0000x', 'gpt-4o\ud800', 'claude-x\udc00']) {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['/v1/chat/completions', { model, messages: input }],
        ['/v1/embeddings', { model, input: 'hi' }],
        ['/v1/messages', { model, max_tokens: 5, messages: input }],
        ['/v1/messages/count_tokens', { model, messages: input }],
        ['/v1/responses', { model, input: 'hi' }],
        ['/v1/completions', { model, prompt: 'hi' }],
      ];
      for (const [path, body] of cases) {
        const res = await postJson(`${t.gw.url}${path}`, body);
        const text = await res.text();
        // Anthropic's dialect answers its invalid_request_error with 400.
        const status = path.startsWith('/v1/messages') ? 400 : 422;
        assert.equal(res.status, status, `${path} ${JSON.stringify(model)}: ${text}`);
        assert.match(text, /model/);
      }
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('a number beyond a double (1e400) is a 400, not a null sent upstream', async () => {
    const cases: Array<[string, string]> = [
      [
        '/v1/chat/completions',
        '{"model":"gpt-4o","max_tokens":1e400,"messages":[{"role":"user","content":"hi"}]}',
      ],
      [
        '/v1/chat/completions',
        '{"model":"gpt-4o","seed":-1e400,"messages":[{"role":"user","content":"hi"}]}',
      ],
      ['/v1/messages', '{"model":"claude-x","max_tokens":1e400,"messages":[{"role":"user","content":"hi"}]}'],
      ['/v1/responses', '{"model":"gpt-4o","max_output_tokens":1e400,"input":"hi"}'],
      ['/v1/embeddings', '{"model":"text-embedding-3-small","input":[[1e400]]}'],
      ['/v1/completions', '{"model":"gpt-4o","max_tokens":1e400,"prompt":"hi"}'],
    ];
    for (const [path, body] of cases) {
      const res = await postJson(`${t.gw.url}${path}`, body);
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.match(text, /number too large/);
    }
    assert.equal(t.mock.requests.length, 0);
  });

  test('an upstream model name with a lone surrogate still makes a header (it used to throw)', () => {
    assert.equal(headerSafe('m\ud800'), encodeURIComponent('m\ufffd'));
    assert.equal(headerSafe('\udc00\ud83d\ude00'), encodeURIComponent('\ufffd\ud83d\ude00'));
  });
});

describe('a full upstream connection pool does not suspend timeouts', () => {
  // A stream of 30 frames, 100 ms apart, holds the only upstream connection for about 3 s.
  const t = useGateway(
    { yaml: 'upstream:\n  connections_per_origin: 1\n', env: { LLM_TIMEOUT: '0.3', LLM_MAX_RETRIES: '1' } },
    { frameIntervalMs: 100, chunkCount: 30 },
  );

  test('a request queued for a connection times out on time, not when the connection frees up', async () => {
    const first = await postJson(t.chatUrl, {
      model: 'gpt-4o',
      messages: userMessage(),
      stream: true,
    });
    assert.equal(first.status, 200);
    let firstDone = false;
    const firstBody = readSseData(first.response).then((events) => {
      firstDone = true;
      return events;
    });
    const second = await postJson(t.chatUrl, {
      model: 'gpt-4o',
      messages: userMessage(),
    });
    assert.equal(second.status, 504);
    assert.equal(firstDone, false, 'the 504 came while the stream still held the connection');
    assert.equal(t.mock.requests.length, 1, 'the queued request never reached the upstream');
    assert.equal((await firstBody).at(-1), '[DONE]');
  });
});

describe('streams and the clients and upstreams around them', () => {
  const clock = fakeClock();
  const t = useGateway(
    { clock, env: { LLM_STREAM_IDLE_TIMEOUT: '0.3', LLM_RETRY_MAX_MS: '30000' } },
    { endDelayMs: 20 },
  );
  beforeEach(() => {
    clock.waits.length = 0;
  });

  test('completed streams give their upstream connection back to the pool', async () => {
    for (let i = 0; i < 6; i++) {
      for (const model of ['gpt-4o', 'claude-3-5-haiku-latest']) {
        const res = await postJson(t.chatUrl, {
          model,
          messages: userMessage(),
          stream: true,
        });
        assert.equal((await readSseData(res.response)).at(-1), '[DONE]');
      }
    }
    assert.ok(
      t.mock.requests.every((r) => !r.closedEarly),
      'no completed stream was cut',
    );
    const connections = new Set(t.mock.requests.map((r) => r.remotePort)).size;
    // The upstream ends each body 20 ms after its last event; the gateway reads that end instead of cutting
    // the connection, so connections return to the pool (a request that starts meanwhile opens another one,
    // hence "fewer than one per stream", not "one").
    assert.ok(
      connections < t.mock.requests.length,
      `12 sequential streams used ${connections} upstream connections`,
    );
  });

  test('a client that stops reading is dropped after the idle timeout, and the upstream call with it', async () => {
    // 16 MB of answer: more than the socket buffers on both sides hold.
    t.mock.setAnswer({ chunks: Array.from({ length: 4000 }, () => 'x'.repeat(4096)) });
    const { port } = new URL(t.gw.url);
    const body = JSON.stringify({ model: 'gpt-4o', messages: userMessage(), stream: true });
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(post('/v1/chat/completions', body));
    socket.pause(); // never read: the gateway's socket buffer fills up
    try {
      const record = await t.mock.waitForRequest(1);
      await record.done;
      assert.equal(record.closedEarly, true, 'the upstream call was aborted when the client was dropped');
    } finally {
      socket.destroy();
    }
  });

  test('Server-Timing separates upstream time and retry waits from the gateway overhead', async () => {
    t.mock.enqueue({ kind: 'status', status: 503, retryAfter: '0.3' });
    const res = await postJson(t.chatUrl, { model: 'gpt-4o', messages: userMessage() });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('server-timing') ?? '', /wait;dur=300\.000, gateway;dur=/);
  });
});
