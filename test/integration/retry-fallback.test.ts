/**
 * Retries, fallback and honest streams (DESIGN §3, §5) through a real gateway and the mock upstream.
 * Waits between attempts go through a fake clock: recorded, never slept.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { expectError } from '../helpers/errors.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, readSseData, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { SMART_ROUTE } from '../helpers/routing.js';

let mock: MockUpstream;
let gw: TestGateway;
const clock = fakeClock();
const url = () => `${gw.url}/v1/chat/completions`;
const NO_BREAKER = `
routing:
  breaker: { consecutive_failures: 0, min_requests: 1000000 }
`;

before(async () => {
  mock = await MockUpstream.start();
  // The honest-stream tests cut streams mid-way on purpose, which counts against the deployment's breaker
  // (decision 0222); this suite is about retries and fallback, so its breakers never open.
  gw = await startGateway({ mock, clock, yaml: `${SMART_ROUTE}${NO_BREAKER}` });
});
after(async () => {
  await gw.close();
  await mock.close();
});
beforeEach(() => {
  mock.reset();
  clock.waits.length = 0;
});

const dialects = () => mock.requests.map((r) => r.dialect);

interface Chunk {
  choices: Array<{ delta: { content?: string } }>;
}

/** Splits SSE payloads into parsed chunks and the final event. */
async function readStream(response: Response) {
  const events = await readSseData(response);
  const last = events.at(-1) as string;
  const chunks = events
    .filter((e) => e !== '[DONE]')
    .map((e) => JSON.parse(e) as Chunk & { error?: unknown })
    .filter((e) => e.error === undefined);
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  return { events, last, chunks, text };
}

/** The honest ending of a stream that failed after its first byte: an error event, no [DONE]. */
function assertErrorEnding(events: string[]): void {
  assert.ok(!events.includes('[DONE]'), `no [DONE] after a failure: ${events.join(' | ')}`);
  const last = JSON.parse(events.at(-1) as string) as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(last), ['error']);
  assert.deepEqual(Object.keys(last.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(last.error.type, 'provider_unavailable_error');
  assert.equal(last.error.code, 'provider_unavailable');
}

describe('retries', () => {
  test('a 503 then success → 200, two upstream requests', async () => {
    mock.enqueue({ kind: 'status', status: 503 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.equal(body.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(mock.requests.length, 2);
    assert.equal(clock.waits.length, 1);
    assert.equal(res.headers.get('x-provider'), 'openai');
    assert.equal(res.headers.get('x-fallback-count'), null, 'a retry is not a fallback');
  });

  test('a dropped connection then success → 200', async () => {
    mock.enqueue({ kind: 'drop' });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(res.status, 200);
    assert.equal(mock.requests.length, 2);
  });

  test('a non-stream answer cut off half-way is retried → 200', async () => {
    mock.enqueue({ kind: 'disconnect', afterFrames: 0 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(res.status, 200);
    assert.equal(mock.requests.length, 2);
    assert.equal(mock.requests[0]?.closedEarly, true);
  });

  test('stream: a 503 before the first byte is retried → 200 stream ending in [DONE]', async () => {
    mock.enqueue({ kind: 'status', status: 503 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const { last, text } = await readStream(res.response);
    assert.equal(last, '[DONE]');
    assert.equal(text, 'Hello from the mock');
    assert.equal(mock.requests.length, 2);
  });
});

describe('streams: a failure before any content is still retried', () => {
  test('openai: cut right after the empty role chunk → retried, the client sees one clean stream', async () => {
    mock.enqueue({ kind: 'disconnect', afterFrames: 1 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    const { last, text, chunks } = await readStream(res.response);
    assert.equal(last, '[DONE]');
    assert.equal(text, 'Hello from the mock');
    assert.equal(mock.requests.length, 2);
    const roleChunks = chunks.filter((c) => (c.choices[0]?.delta as { role?: string } | undefined)?.role);
    assert.equal(roleChunks.length, 1, 'the held-back role chunk of the failed attempt is not sent');
  });

  test('anthropic: an error right after message_start → retried before anything reached the client', async () => {
    // Frames: message_start, content_block_start, ping, then deltas; cut before the first delta.
    mock.enqueue({ kind: 'disconnect', afterFrames: 3 });
    const res = await postJson(url(), {
      model: 'claude-3-5-haiku-latest',
      messages: userMessage(),
      stream: true,
    });
    assert.equal(res.status, 200);
    const { last, text } = await readStream(res.response);
    assert.equal(last, '[DONE]');
    assert.equal(text, 'Hello from the mock');
    assert.equal(mock.requests.length, 2);
  });
});

describe('honest streams: no retry after the first byte', () => {
  test('upstream cut off after 3 frames → 200 SSE ending in an error event, no [DONE], one request', async () => {
    mock.enqueue({ kind: 'disconnect', afterFrames: 3 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    const { events, text } = await readStream(res.response);
    assertErrorEnding(events);
    assert.equal(text, 'Hello from', 'the content sent before the cut reached the client');
    assert.equal(mock.requests.length, 1, 'no retry once the client has bytes');
    assert.deepEqual(clock.waits, []);
  });

  test('malformed SSE mid-stream → the same honest error ending', async () => {
    mock.enqueue({ kind: 'malformed-sse', afterFrames: 2 });
    const res = await postJson(url(), { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    const { events } = await readStream(res.response);
    assertErrorEnding(events);
    assert.match(events.at(-1) as string, /malformed/);
    assert.equal(mock.requests.length, 1);
  });

  test('a failure after the first byte does not fall back to the next deployment either', async () => {
    mock.enqueue({ kind: 'disconnect', afterFrames: 2 });
    const res = await postJson(url(), { model: 'smart', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'openai');
    assertErrorEnding((await readStream(res.response)).events);
    assert.deepEqual(dialects(), ['openai']);
  });
});

describe('fallback across deployments', () => {
  test('openai 503 three times → served by anthropic, with X-Provider and X-Fallback-Count', async () => {
    mock.enqueue(
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 503 },
    );
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'anthropic');
    assert.equal(res.headers.get('x-fallback-count'), '1');
    assert.equal(res.headers.get('x-model'), 'claude-3-5-haiku-latest');
    const body = (await res.json()) as { object: string; choices: Array<{ message: { content: string } }> };
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0]?.message.content, 'Hello from the mock');
    assert.deepEqual(dialects(), ['openai', 'openai', 'openai', 'anthropic']);
    assert.equal((mock.requests[3]!.body as { model: string }).model, 'claude-3-5-haiku-latest');
    assert.equal(clock.waits.length, 2, 'retries on the first deployment, none between deployments');
  });

  test('stream: openai unavailable before the first byte → anthropic stream ending in [DONE]', async () => {
    mock.enqueue(
      { kind: 'status', status: 503 },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 500 },
    );
    const res = await postJson(url(), { model: 'smart', messages: userMessage(), stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'anthropic');
    assert.equal(res.headers.get('x-fallback-count'), '1');
    const { last, text } = await readStream(res.response);
    assert.equal(last, '[DONE]');
    assert.equal(text, 'Hello from the mock');
    assert.deepEqual(dialects(), ['openai', 'openai', 'openai', 'anthropic']);
  });

  test('a 400 on the first deployment does not fall back', async () => {
    mock.enqueue({ kind: 'status', status: 400, message: 'messages too long' });
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    await expectError(res, {
      status: 400,
      type: 'invalid_request_error',
      code: 'upstream_bad_request',
      message: /messages too long/,
    });
    assert.deepEqual(dialects(), ['openai']);
  });

  test('a provider auth failure falls back at once (the next deployment has its own credentials)', async () => {
    mock.enqueue({ kind: 'status', status: 401 });
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'anthropic');
    assert.equal(res.headers.get('x-fallback-count'), '1');
    await res.text();
    assert.deepEqual(
      dialects(),
      ['openai', 'anthropic'],
      'not retried on the deployment that refused the key',
    );
  });

  test('every deployment refusing its credentials → 401 provider_authentication_error', async () => {
    mock.enqueue({ kind: 'status', status: 401 }, { kind: 'status', status: 403 });
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    await expectError(res, { status: 401, type: 'provider_authentication_error' });
    assert.deepEqual(dialects(), ['openai', 'anthropic']);
  });

  test('every deployment unavailable → 502 from the last one tried', async () => {
    mock.enqueue(...Array.from({ length: 6 }, () => ({ kind: 'status' as const, status: 503 })));
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    await expectError(res, { status: 502, type: 'provider_unavailable_error', message: /anthropic/ });
    assert.equal(res.headers.get('x-provider'), 'anthropic');
    assert.deepEqual(dialects(), ['openai', 'openai', 'openai', 'anthropic', 'anthropic', 'anthropic']);
  });

  test('every deployment failed, one with a Retry-After: the final 502 carries that wait', async () => {
    // The 429's wait is over the retry cap: not waited for, the request moves on at once.
    mock.enqueue(
      { kind: 'status', status: 429, retryAfter: '3' },
      ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })),
    );
    const res = await postJson(url(), { model: 'smart', messages: userMessage() });
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      message: /upstream_rate_limited/,
    });
    assert.equal(
      res.headers.get('retry-after'),
      '3',
      'the soonest known wait, though not the last failure’s',
    );
    assert.deepEqual(dialects(), ['openai', 'anthropic', 'anthropic', 'anthropic']);
  });
});
