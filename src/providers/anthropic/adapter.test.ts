import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import {
  type Answer,
  type Captured,
  type CaptureServer,
  startCaptureServer,
} from '../../../test/helpers/capture-server.js';
import { AuthError, BadRequestError, ProviderUnavailableError, RateLimitError } from '../../core/errors.js';
import type { ChatCompletionChunk, ChatRequest, ProviderAdapter, ProviderSettings } from '../types.js';
import { createAnthropicAdapter } from './adapter.js';

const KEY = 'sk-ant-test-0123456789abcdef';
/** The adapter's wall clock: a fixed time, never today's. */
const WALL_MS = Date.UTC(2024, 0, 15, 12);
const clock = { wallNow: () => WALL_MS };

let reply: Answer = { status: 500, body: '{}' };
let upstream: CaptureServer;
const dispatcher = new Agent();

before(async () => {
  upstream = await startCaptureServer(() => reply);
});

after(async () => {
  await dispatcher.close();
  await upstream.close();
});

/** The requests the upstream saw since the last `respond`, with their JSON bodies. */
const seen = () => upstream.seen as Array<Captured & { body: Record<string, unknown> }>;

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

function adapter(overrides: Partial<ProviderSettings> = {}): ProviderAdapter {
  const settings: ProviderSettings = {
    name: 'anthropic',
    type: 'anthropic',
    baseUrl: upstream.url,
    apiKey: KEY,
    apiKeyEnv: 'ANTHROPIC_API_KEY',
    headers: { 'Anthropic-Beta': 'test-beta' },
    defaultMaxTokens: 512,
    ...overrides,
  };
  return createAnthropicAdapter(settings, { dispatcher, clock });
}

function respond(status: number, body: string, headers: Record<string, string> = {}): void {
  upstream.seen.length = 0;
  reply = { status, body, headers };
}

const REQ = { model: 'claude', messages: [{ role: 'user', content: 'Hi' }] } as ChatRequest;
const call = () => ({
  model: 'claude-sonnet-4-5',
  signal: new AbortController().signal,
  requestId: 'req_123',
});

function errorBody(type: string, message: string): string {
  return JSON.stringify({ type: 'error', error: { type, message } });
}

test('chat: POST /v1/messages with Anthropic headers, answer translated', async () => {
  respond(200, fixture('response-text.json'));
  const out = await adapter().chat({ ...REQ, stream: true }, call());
  assert.equal(out.choices[0]?.message.content, 'Hi! My name is Claude. How can I help?');
  assert.equal(out.created, WALL_MS / 1000, 'created from the injected clock');
  const [r] = seen();
  assert.equal(r?.method, 'POST');
  assert.equal(r?.url, '/v1/messages');
  assert.equal(r?.headers['x-api-key'], KEY);
  assert.equal(r?.headers['anthropic-version'], '2023-06-01');
  assert.equal(r?.headers['anthropic-beta'], 'test-beta');
  assert.equal(r?.headers['content-type'], 'application/json');
  assert.equal(r?.headers['x-request-id'], 'req_123');
  assert.equal(r?.headers.authorization, undefined);
  assert.deepStrictEqual(r?.body, {
    model: 'claude-sonnet-4-5',
    max_tokens: 512,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
  });
});

test('chat: no x-api-key header for a keyless endpoint', async () => {
  respond(200, fixture('response-text.json'));
  await adapter({ apiKey: undefined, apiKeyEnv: undefined }).chat(REQ, call());
  assert.equal(seen()[0]?.headers['x-api-key'], undefined);
});

test('chatStream: SSE request, chunks translated, ends with usage', async () => {
  upstream.seen.length = 0;
  reply = { status: 200, type: 'text/event-stream', body: fixture('stream-text.chunks.txt') };
  const stream = await adapter().chatStream(REQ, call());
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(seen()[0]?.headers.accept, 'text/event-stream');
  assert.equal(seen()[0]?.body.stream, true);
  assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello, world!');
  assert.equal(chunks.at(-1)?.usage?.total_tokens, 40);
  assert.ok(
    chunks.every((c) => c.created === WALL_MS / 1000),
    'created from the injected clock',
  );
});

test('529 overloaded → ProviderUnavailableError, for chat and before the stream starts', async () => {
  respond(529, errorBody('overloaded_error', 'Overloaded'));
  await assert.rejects(adapter().chat(REQ, call()), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.equal(err.upstreamStatus, 529);
    assert.match(err.message, /Overloaded/);
    return true;
  });
  await assert.rejects(adapter().chatStream(REQ, call()), ProviderUnavailableError);
});

test('401 → AuthError naming the env variable, never the key', async () => {
  respond(401, errorBody('authentication_error', 'invalid x-api-key'));
  await assert.rejects(adapter().chat(REQ, call()), (err: unknown) => {
    assert.ok(err instanceof AuthError);
    assert.match(err.message, /ANTHROPIC_API_KEY/);
    assert.ok(!err.message.includes(KEY));
    assert.ok(!String(err.stack).includes(KEY));
    return true;
  });
});

test('429 with retry-after: 2 → RateLimitError retryAfterMs 2000; an echoed key is redacted', async () => {
  respond(429, errorBody('rate_limit_error', `Too many requests for key ${KEY}`), { 'retry-after': '2' });
  await assert.rejects(adapter().chat(REQ, call()), (err: unknown) => {
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.retryAfterMs, 2000);
    assert.ok(!err.message.includes(KEY));
    assert.match(err.message, /\[redacted\]/);
    return true;
  });
});

test('retry-after as an HTTP date is measured from the injected clock', async () => {
  respond(429, errorBody('rate_limit_error', 'Slow down'), {
    'retry-after': new Date(WALL_MS + 30_000).toUTCString(),
  });
  await assert.rejects(adapter().chat(REQ, call()), (err: unknown) => {
    assert.ok(err instanceof RateLimitError);
    assert.equal(err.retryAfterMs, 30_000);
    return true;
  });
});

test('a 200 body that is not a Message → ProviderUnavailableError', async () => {
  respond(200, JSON.stringify({ type: 'message', text: 'no content array' }));
  await assert.rejects(adapter().chat(REQ, call()), ProviderUnavailableError);
  respond(200, 'not json');
  await assert.rejects(adapter().chat(REQ, call()), ProviderUnavailableError);
});

test('untranslatable requests reject before any upstream call', async () => {
  respond(200, fixture('response-text.json'));
  await assert.rejects(adapter().chat({ ...REQ, n: 3 }, call()), BadRequestError);
  await assert.rejects(adapter().chatStream({ ...REQ, n: 3 }, call()), BadRequestError);
  assert.equal(seen().length, 0);
});
