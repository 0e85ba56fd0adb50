/**
 * Request bodies are bounded in memory (audit L F2, F7): the pipeline routes hold at most
 * `MAX_BODY_BYTES_IN_FLIGHT` bytes of bodies at once — one more is refused with 503 and Retry-After while
 * the others are held, and served again once they are done — and a body that is not UTF-8 is a 400 that
 * never reaches the provider (decoding would have sent U+FFFD in place of the client's bytes).
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { postJson, useGateway } from '../helpers/gateway.js';

const CAP = 100_000;

/** A chat body of about `size` bytes. */
function body(size: number): string {
  const text = 'x'.repeat(size - 80);
  return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] });
}

describe('request bodies in flight are bounded; bytes must be UTF-8', () => {
  const t = useGateway({ env: { MAX_BODY_BYTES_IN_FLIGHT: String(CAP) } });

  test('past the cap a body is a 503 with Retry-After while another is held; served again once it is done', async () => {
    // A: a body of 80 KB, of which 60 KB is sent now and the rest only later: the gateway holds 60 KB.
    const slow = body(80_000);
    const url = new URL(t.chatUrl);
    const a = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(slow) },
    });
    const answerA = new Promise<number>((resolve, reject) => {
      a.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      a.on('error', reject);
    });
    a.write(slow.slice(0, 60_000));

    // B: 60 KB more would take the gateway past 100 KB. Until A's first bytes are read B is served, so
    // B is sent until it is refused (A's bytes arrive within a few tries on loopback).
    let refused: Awaited<ReturnType<typeof postJson>> | undefined;
    for (let i = 0; i < 200 && !refused; i++) {
      const res = await postJson(t.chatUrl, JSON.parse(body(60_000)));
      if (res.status === 503) refused = res;
      else {
        assert.equal(res.status, 200);
        await res.text();
      }
    }
    assert.ok(refused, 'a body past the cap is refused');
    assert.equal(refused.headers.get('retry-after'), '1');
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'service_unavailable');
    assert.match(error.message, /MAX_BODY_BYTES_IN_FLIGHT/);

    a.end(slow.slice(60_000));
    assert.equal(await answerA, 200, 'the held body is served');
    const again = await postJson(t.chatUrl, JSON.parse(body(60_000)));
    assert.equal(again.status, 200, 'the bytes were given back');
    await again.text();
  });

  test('a body that is not UTF-8 is a 400 invalid_json and reaches no provider', async () => {
    const before = t.mock.requests.length;
    for (const bad of [[0xff, 0xfe], [0xc3], [0xed, 0xa0, 0x80]]) {
      const bytes = Buffer.concat([
        Buffer.from('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"pay '),
        Buffer.from(bad),
        Buffer.from(' now"}]}'),
      ]);
      const res = await fetch(t.chatUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: bytes,
      });
      assert.equal(res.status, 400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'invalid_json');
      assert.match(error.message, /UTF-8/);
    }
    assert.equal(t.mock.requests.length, before, 'nothing reached the provider');
    // Real UTF-8 (multi-byte characters) is served as before.
    const ok = await postJson(t.chatUrl, {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'naïve 日本 😀' }],
    });
    assert.equal(ok.status, 200);
  });
});
