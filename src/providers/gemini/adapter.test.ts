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
import {
  AuthError,
  BadRequestError,
  InvalidRequestError,
  ProviderUnavailableError,
  RateLimitError,
} from '../../core/errors.js';
import type { CallOptions, ChatCompletionChunk, ChatRequest, ProviderAdapter } from '../types.js';
import { createGeminiAdapter } from './adapter.js';

const KEY = 'AIzaSy-test-key-123';
/** The adapter's wall clock: a fixed time, never today's. */
const WALL_MS = Date.UTC(2024, 0, 15, 12);

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

/** Answers by model name: the path segment before `:`. */
function reply(model: string, stream: boolean): Answer {
  const error = (status: number, message: string, name: string) => ({
    status,
    type: 'application/json',
    body: JSON.stringify({ error: { code: status, message, status: name } }),
  });
  if (model === 'down') return error(503, 'The model is overloaded. Please try again later.', 'UNAVAILABLE');
  if (model === 'busy')
    return error(429, 'Resource has been exhausted (e.g. check quota).', 'RESOURCE_EXHAUSTED');
  if (model === 'bad') return error(400, 'Invalid value at contents[0].role', 'INVALID_ARGUMENT');
  if (model === 'nokey') return error(403, "Method doesn't allow unregistered callers.", 'PERMISSION_DENIED');
  if (model === 'weird') return { status: 200, type: 'application/json', body: '{"hello":"world"}' };
  if (stream) return { status: 200, type: 'text/event-stream', body: fixture('text.chunks.txt') };
  return { status: 200, type: 'application/json', body: fixture('text.response.json') };
}

let upstream: CaptureServer;
let agent: Agent;
let adapter: ProviderAdapter;

before(async () => {
  upstream = await startCaptureServer((req) => {
    const match = /\/models\/([^/:]+):(\w+)/.exec(req.url);
    return reply(decodeURIComponent(match?.[1] ?? ''), match?.[2] === 'streamGenerateContent');
  });
  agent = new Agent();
  adapter = createGeminiAdapter(
    {
      name: 'gemini',
      type: 'gemini',
      baseUrl: `${upstream.url}/`,
      apiKey: KEY,
      apiKeyEnv: 'GEMINI_API_KEY',
      headers: { 'x-team': 'search' },
      defaultMaxTokens: 4096,
    },
    { dispatcher: agent, clock: { wallNow: () => WALL_MS } },
  );
});

after(async () => {
  await agent.close();
  await upstream.close();
});

const request: ChatRequest = { model: 'alias', messages: [{ role: 'user', content: 'Capital of France?' }] };
const call = (model: string): CallOptions => ({
  model,
  signal: new AbortController().signal,
  requestId: 'req-42',
});

function lastSeen(): Captured {
  const s = upstream.seen.at(-1);
  assert.ok(s, 'the server saw a request');
  return s;
}

test('chat: POST /v1beta/models/{model}:generateContent with the key in a header only', async () => {
  const out = await adapter.chat(request, call('gemini-2.0-flash'));
  assert.equal(out.choices[0]?.message.content, 'The capital of France is Paris.');
  assert.equal(out.id, 'kTjvaOXrFoKcz7IPzNLw6Qo');
  assert.equal(out.created, WALL_MS / 1000, 'created from the injected clock');
  const s = lastSeen();
  assert.equal(s.url, '/v1beta/models/gemini-2.0-flash:generateContent');
  assert.equal(s.url.includes(KEY), false);
  assert.equal(s.headers['x-goog-api-key'], KEY);
  assert.equal(s.headers['content-type'], 'application/json');
  assert.equal(s.headers['x-request-id'], 'req-42');
  assert.equal(s.headers['x-team'], 'search');
  assert.equal(s.headers.authorization, undefined);
  assert.deepStrictEqual(s.body, { contents: [{ role: 'user', parts: [{ text: 'Capital of France?' }] }] });
});

test('chat: a models/ prefix is stripped', async () => {
  await adapter.chat(request, call('models/gemini-2.5-flash'));
  assert.equal(lastSeen().url, '/v1beta/models/gemini-2.5-flash:generateContent');
});

test('chatStream: :streamGenerateContent?alt=sse, chunks end with usage', async () => {
  const stream = await adapter.chatStream(request, call('gemini-2.5-flash'));
  const s = lastSeen();
  assert.equal(s.url, '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
  assert.equal(s.url.includes(KEY), false);
  assert.equal(s.headers['x-goog-api-key'], KEY);
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.equal(text, 'Roses are red, violets are blue, gateways stream\nand so do you.');
  assert.deepStrictEqual(chunks.at(-1)?.choices, []);
  assert.equal(chunks.at(-1)?.usage?.total_tokens, 311);
  assert.ok(
    chunks.every((c) => c.created === WALL_MS / 1000),
    'created from the injected clock',
  );
});

test('HTTP errors map to the taxonomy, for chat and chatStream', async () => {
  for (const method of ['chat', 'chatStream'] as const) {
    await assert.rejects(adapter[method](request, call('down')), (err: unknown) => {
      assert.ok(err instanceof ProviderUnavailableError);
      assert.equal(err.upstreamStatus, 503);
      assert.equal(err.isRetryable, true);
      return true;
    });
    await assert.rejects(adapter[method](request, call('bad')), (err: unknown) => {
      assert.ok(err instanceof InvalidRequestError);
      assert.match(err.message, /Invalid value at contents\[0\]\.role/);
      assert.equal(err.isRetryable, false);
      return true;
    });
    await assert.rejects(adapter[method](request, call('busy')), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.upstreamStatus, 429);
      return true;
    });
    await assert.rejects(adapter[method](request, call('nokey')), (err: unknown) => {
      assert.ok(err instanceof AuthError);
      assert.match(err.message, /GEMINI_API_KEY/);
      assert.equal(err.message.includes(KEY), false);
      return true;
    });
  }
});

test('a 200 that is not a Gemini response is ProviderUnavailableError', async () => {
  await assert.rejects(adapter.chat(request, call('weird')), ProviderUnavailableError);
});

test('untranslatable requests fail before any upstream call', async () => {
  const before = upstream.seen.length;
  const bad = { ...request, logprobs: true } as ChatRequest;
  await assert.rejects(adapter.chat(bad, call('gemini-2.5-flash')), BadRequestError);
  await assert.rejects(adapter.chatStream(bad, call('gemini-2.5-flash')), BadRequestError);
  assert.equal(upstream.seen.length, before);
});

test('no key configured: no x-goog-api-key header', async () => {
  const keyless = createGeminiAdapter(
    {
      name: 'local-gemini',
      type: 'gemini',
      baseUrl: upstream.url,
      apiKey: undefined,
      apiKeyEnv: undefined,
      headers: {},
      defaultMaxTokens: 4096,
    },
    { dispatcher: agent },
  );
  assert.equal(keyless.type, 'gemini');
  assert.equal(keyless.name, 'local-gemini');
  await keyless.chat(request, call('gemini-2.0-flash'));
  assert.equal(lastSeen().headers['x-goog-api-key'], undefined);
});
