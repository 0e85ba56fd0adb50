// `embed` over real HTTP, against a tiny server that answers with the mock upstream's Gemini embeddings.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent } from 'undici';
import {
  deterministicVector,
  geminiEmbeddingsAnswer,
} from '../../../test/fixtures/mock-upstream/gemini-embeddings.js';
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
import type { CallOptions, EmbeddingRequest, ProviderAdapter } from '../types.js';
import { createGeminiAdapter } from './adapter.js';

const KEY = 'AIzaSy-embed-key-456';

let upstream: CaptureServer;
let agent: Agent;
let adapter: ProviderAdapter;

/** Answers by model name (the path segment before `:`), like the real API's errors. */
function reply(model: string, body: unknown): Answer {
  const error = (status: number, message: string, name: string) => ({
    status,
    body: JSON.stringify({ error: { code: status, message, status: name } }),
  });
  if (model === 'down') return error(503, 'The model is overloaded. Please try again later.', 'UNAVAILABLE');
  if (model === 'busy')
    return error(429, 'Resource has been exhausted (e.g. check quota).', 'RESOURCE_EXHAUSTED');
  if (model === 'nokey') return error(403, "Method doesn't allow unregistered callers.", 'PERMISSION_DENIED');
  if (model === 'bad') return error(400, 'Request contains an invalid argument.', 'INVALID_ARGUMENT');
  if (model === 'weird') return { status: 200, body: '{"hello":"world"}' };
  try {
    return { status: 200, body: JSON.stringify(geminiEmbeddingsAnswer(body)) };
  } catch (err) {
    return error(400, (err as Error).message, 'INVALID_ARGUMENT');
  }
}

before(async () => {
  upstream = await startCaptureServer((req) => {
    const match = /\/models\/([^/:]+):batchEmbedContents$/.exec(req.url);
    if (!match)
      return { status: 404, body: '{"error":{"code":404,"message":"Not found","status":"NOT_FOUND"}}' };
    return reply(decodeURIComponent(match[1] ?? ''), req.body);
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
    { dispatcher: agent },
  );
});

after(async () => {
  await agent.close();
  await upstream.close();
});

const call = (model: string): CallOptions => ({
  model,
  signal: new AbortController().signal,
  requestId: 'req-emb-7',
});

const req = (fields: Partial<EmbeddingRequest>): EmbeddingRequest =>
  ({ model: 'my-embedder', input: 'hello', ...fields }) as EmbeddingRequest;

test('embed: POST /v1beta/models/{model}:batchEmbedContents with the key in a header only', async () => {
  upstream.seen.length = 0;
  const out = await adapter.embed(
    req({ input: ['hello', 'world'], dimensions: 4 }),
    call('gemini-embedding-001'),
  );
  assert.equal(upstream.seen.length, 1);
  const s = upstream.seen[0] as Captured;
  assert.equal(s.url, '/v1beta/models/gemini-embedding-001:batchEmbedContents');
  assert.equal(s.url.includes(KEY), false);
  assert.equal(s.headers['x-goog-api-key'], KEY);
  assert.equal(s.headers.authorization, undefined);
  assert.equal(s.headers['content-type'], 'application/json');
  assert.equal(s.headers['x-request-id'], 'req-emb-7');
  assert.equal(s.headers['x-team'], 'search');
  assert.deepStrictEqual(s.body, {
    requests: ['hello', 'world'].map((text) => ({
      model: 'models/gemini-embedding-001',
      content: { parts: [{ text }] },
      outputDimensionality: 4,
    })),
  });
  assert.deepStrictEqual(out, {
    object: 'list',
    data: [
      { object: 'embedding', index: 0, embedding: deterministicVector('hello', 4) },
      { object: 'embedding', index: 1, embedding: deterministicVector('world', 4) },
    ],
    model: 'gemini-embedding-001',
    usage: { prompt_tokens: 0, total_tokens: 0 },
  });
});

test('embed: a models/ prefix is stripped from the URL and not doubled in the body', async () => {
  upstream.seen.length = 0;
  const out = await adapter.embed(req({}), call('models/text-embedding-004'));
  const s = upstream.seen[0] as Captured;
  assert.equal(s.url, '/v1beta/models/text-embedding-004:batchEmbedContents');
  assert.deepStrictEqual(s.body, {
    requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'hello' }] } }],
  });
  assert.equal(out.model, 'text-embedding-004');
});

test('embed: 250 inputs are three upstream calls (100, 100, 50), answered in input order', async () => {
  upstream.seen.length = 0;
  const input = Array.from({ length: 250 }, (_, i) => `doc ${i}`);
  const out = await adapter.embed(req({ input, encoding_format: 'base64' }), call('gemini-embedding-001'));
  assert.deepStrictEqual(
    upstream.seen.map((s) => (s.body as { requests: unknown[] }).requests.length).sort((a, b) => b - a),
    [100, 100, 50],
  );
  assert.ok(upstream.seen.every((s) => s.url === '/v1beta/models/gemini-embedding-001:batchEmbedContents'));
  assert.equal(out.data.length, 250);
  for (const [index, item] of out.data.entries()) {
    assert.equal(item.index, index);
    const bytes = new Uint8Array(Buffer.from(item.embedding as unknown as string, 'base64'));
    assert.deepStrictEqual(
      Array.from(new Float32Array(bytes.buffer)),
      deterministicVector(`doc ${index}`, 8),
    );
  }
});

test('embed: HTTP errors map to the taxonomy; a non-Gemini 200 is ProviderUnavailableError', async () => {
  await assert.rejects(adapter.embed(req({}), call('down')), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.equal(err.upstreamStatus, 503);
    return true;
  });
  await assert.rejects(adapter.embed(req({}), call('busy')), RateLimitError);
  await assert.rejects(adapter.embed(req({}), call('nokey')), (err: unknown) => {
    assert.ok(err instanceof AuthError);
    assert.match(err.message, /GEMINI_API_KEY/);
    assert.equal(err.message.includes(KEY), false);
    return true;
  });
  await assert.rejects(adapter.embed(req({}), call('weird')), (err: unknown) => {
    assert.ok(err instanceof ProviderUnavailableError);
    assert.equal(err.upstreamStatus, 200);
    return true;
  });
  await assert.rejects(adapter.embed(req({}), call('bad')), (err: unknown) => {
    assert.ok(err instanceof InvalidRequestError);
    assert.match(err.message, /invalid argument/);
    return true;
  });
});

test('embed: invalid input fails before any upstream call', async () => {
  upstream.seen.length = 0;
  await assert.rejects(
    adapter.embed(req({ input: [1, 2, 3] }), call('gemini-embedding-001')),
    BadRequestError,
  );
  await assert.rejects(adapter.embed(req({ input: '' }), call('gemini-embedding-001')), BadRequestError);
  assert.equal(upstream.seen.length, 0);
});
