/**
 * The fast lane (decision 0166) answers exactly as Fastify does. The same requests go to the pipeline route
 * by its plain path (the lane serves it) and by a percent-encoded path that Fastify decodes to the same route
 * (`/%761/…`, which the lane leaves to Fastify): status, body and the set of headers must be the same, for
 * answers, streams and every kind of error the lane can meet.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

const LIMIT = 4096;
const LANE = '/v1/chat/completions';
const FASTIFY = '/%761/chat/completions';

/** Header names of an answer, without the ones that differ per request. */
function headerNames(headers: Headers): string[] {
  return [...headers.keys()].filter((name) => name !== 'date').sort();
}

/** Replaces ids and timings (different on every answer) with placeholders. */
function stable(text: string): string {
  return text
    .replace(/"id":"[^"]*"/g, '"id":"…"')
    .replace(/"created":\d+/g, '"created":0')
    .replace(/chatcmpl-[\w-]+/g, 'chatcmpl-…');
}

describe('fast lane answers as Fastify does', () => {
  const t = useGateway({ env: { MAX_BODY_BYTES: String(LIMIT) } });

  async function both(body: unknown, headers: Record<string, string> = {}) {
    const lane = await postJson(`${t.gw.url}${LANE}`, body, headers);
    const fastify = await postJson(`${t.gw.url}${FASTIFY}`, body, headers);
    return { lane, fastify, laneText: await lane.text(), fastifyText: await fastify.text() };
  }

  const cases: Array<[string, unknown]> = [
    ['an answer', { model: 'gpt-4o-mini', messages: userMessage('hi'), temperature: 0.5 }],
    ['a body that fails validation', { model: 'gpt-4o-mini', messages: 'not a list' }],
    ['a body that is not JSON', '{"model": '],
    ['an empty body', ''],
    ['an unknown model', { model: 'no-such-model', messages: userMessage('hi') }],
    [
      'a body over the limit (with its Content-Length)',
      { model: 'x', messages: userMessage('y'.repeat(LIMIT)) },
    ],
  ];
  for (const [name, body] of cases) {
    test(`${name}: same status, body and headers`, async () => {
      const { lane, fastify, laneText, fastifyText } = await both(body, { 'x-request-id': 'client-1' });
      assert.equal(lane.status, fastify.status);
      assert.equal(stable(laneText), stable(fastifyText));
      assert.deepEqual(headerNames(lane.headers), headerNames(fastify.headers));
      assert.equal(lane.headers.get('content-type'), fastify.headers.get('content-type'));
      assert.equal(lane.headers.get('x-request-id'), 'client-1');
      assert.notEqual(
        lane.headers.get('x-gateway-request-id'),
        fastify.headers.get('x-gateway-request-id'),
        'each answer has its own gateway id',
      );
    });
  }

  test('a stream: same status, headers and events', async () => {
    const body = { model: 'gpt-4o-mini', messages: userMessage('hi'), stream: true };
    const lane = await postJson(`${t.gw.url}${LANE}`, body);
    const fastify = await postJson(`${t.gw.url}${FASTIFY}`, body);
    assert.equal(lane.status, 200);
    assert.deepEqual(headerNames(lane.headers), headerNames(fastify.headers));
    const laneEvents = (await readSseData(lane.response)).map(stable);
    const fastifyEvents = (await readSseData(fastify.response)).map(stable);
    assert.deepEqual(laneEvents, fastifyEvents);
    assert.equal(laneEvents.at(-1), '[DONE]');
  });

  test('a chunked body past the limit (no Content-Length) is a 413 naming the limit, as with Fastify', async () => {
    const send = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${t.gw.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.write(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"`);
        for (let i = 0; i < 4; i++) req.write('z'.repeat(2000));
        req.end('"}]}');
      });
    const lane = await send(LANE);
    const fastify = await send(FASTIFY);
    assert.equal(lane.status, 413);
    assert.equal(lane.body, fastify.body);
    assert.match(lane.body, /4096/);
    assert.equal(t.mock.requests.length, 0, 'nothing reached the upstream');
  });

  test('a body that is not JSON by its Content-Type still gets the 415 (Fastify serves it)', async () => {
    const res = await fetch(`${t.gw.url}${LANE}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    assert.equal(res.status, 415);
  });

  test('both paths count in the HTTP metrics under the route', async () => {
    const metrics = async () => {
      const text = await (await fetch(`${t.gw.url}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('llm_http_requests_total{') &&
            l.includes('route="/v1/chat/completions"') &&
            l.includes('status="200"'),
        );
      return line ? Number(line.split(' ').at(-1)) : 0;
    };
    const before = await metrics();
    const body = { model: 'gpt-4o-mini', messages: userMessage('m') };
    assert.equal((await postJson(`${t.gw.url}${LANE}`, body)).status, 200);
    assert.equal((await postJson(`${t.gw.url}${FASTIFY}`, body)).status, 200);
    assert.equal((await metrics()) - before, 2);
  });
});
