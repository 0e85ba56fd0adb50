/**
 * The semantic cache with the real local embedder (Universal Sentence Encoder Lite from the
 * @energetic-ai packages) and the shipped matcher (the calibrated verifier at the default 1 % bound), end to
 * end through the gateway: a paraphrase hits, a near miss does not, and another system prompt never does
 * (DESIGN §6, issues 3 and 18).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { deterministic, startCacheGateway } from '../helpers/cache.js';
import { postJson, type TestGateway } from '../helpers/gateway.js';

describe('semantic cache with the local USE-Lite embedder', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: {
        ENABLE_SEMANTIC_CACHE: 'true',
        SEMANTIC_CACHE_EMBEDDER: 'local',
        // The first lookup waits for the model to load (about a second on a busy machine).
        SEMANTIC_CACHE_TIMEOUT_MS: '15000',
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  async function ask(body: unknown): Promise<string> {
    const res = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(res.status, 200);
    await res.text();
    return `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`;
  }

  const withSystem = (system: string, user: string) => ({
    ...deterministic(user),
    messages: [
      { role: 'system', content: system },
      { role: 'user', content: user },
    ],
  });

  test('a paraphrase of a cached question is a SEMANTIC hit, with the verifier score', async () => {
    assert.equal(await ask(deterministic("What's the best way to learn Python?")), 'MISS/MISS');
    const res = await postJson(`${gw.url}/v1/chat/completions`, deterministic('How should I learn Python?'));
    await res.text();
    assert.equal(res.headers.get('x-cache-type'), 'SEMANTIC');
    assert.equal(mock.requests.length, 1);
    const stats = (await (
      await fetch(`${gw.url}/admin/cache/stats`, {
        headers: { authorization: 'Bearer admin-SECRET-cache-0123456789' },
      })
    ).json()) as {
      semantic: {
        enabled: boolean;
        embedder: string;
        records: number;
        matcher: { kind: string; max_false_hit_rate: number; score_threshold: number };
      };
    };
    assert.equal(stats.semantic.enabled, true);
    assert.equal(stats.semantic.embedder, 'local:use-lite');
    assert.ok(stats.semantic.records >= 1);
    assert.equal(stats.semantic.matcher.kind, 'verifier');
    assert.equal(stats.semantic.matcher.max_false_hit_rate, 0.01);
    const score = Number(res.headers.get('x-cache-score'));
    assert.ok(score >= stats.semantic.matcher.score_threshold && score <= 1, String(score));
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llm_embedding_generation_duration_seconds_count [1-9]/);
    assert.match(metrics, /llm_semantic_cache_hits_total 1\b/);
  });

  test('a near miss (same words, another action) is not served from the cache', async () => {
    assert.equal(await ask(deterministic('How do I cancel my subscription?')), 'MISS/MISS');
    assert.equal(await ask(deterministic('How do I upgrade my subscription?')), 'MISS/MISS');
    assert.equal(await ask(deterministic('Find hotels in Paris')), 'MISS/MISS');
    assert.equal(await ask(deterministic('Find hotels in Rome')), 'MISS/MISS');
    assert.equal(mock.requests.length, 4);
  });

  test('the same question under another system prompt never hits', async () => {
    const cached = 'What is the best way to export my data?';
    assert.equal(await ask(withSystem('You are a support agent.', cached)), 'MISS/MISS');
    assert.equal(await ask(withSystem('You are a pirate.', cached)), 'MISS/MISS');
    assert.equal(await ask(withSystem('You are a pirate.', 'How do I best export my data?')), 'HIT/SEMANTIC');
    assert.equal(mock.requests.length, 2);
  });
});

describe('semantic cache with the provider embedder (an OpenAI-compatible /v1/embeddings)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: {
        ENABLE_SEMANTIC_CACHE: 'true',
        SEMANTIC_CACHE_EMBEDDER: 'provider',
        SEMANTIC_CACHE_EMBEDDING_MODEL: 'text-embedding-3-small',
        // The mock's embeddings are hashes of the text (no meaning): this checks the plumbing only.
        SEMANTIC_CACHE_EMBEDDING_BASE_URL: `${mock.url}/v1`,
        SEMANTIC_CACHE_EMBEDDING_API_KEY: 'sk-embed-SECRET-0123456789',
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('embeds the last user message through the API and records it; unrelated texts never hit', async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, deterministic('Where is the Louvre?'));
    assert.equal(res.headers.get('x-cache-status'), 'MISS');
    await res.text();
    const embedCall = mock.requests.find((r) => r.path.endsWith('/embeddings'));
    assert.ok(embedCall, 'the embeddings API was called');
    assert.equal(embedCall.headers.authorization, 'Bearer sk-embed-SECRET-0123456789');
    assert.deepEqual((embedCall.body as { input: unknown }).input, ['Where is the Louvre?']);
    const stats = async () =>
      (
        (await (
          await fetch(`${gw.url}/admin/cache/stats`, {
            headers: { authorization: 'Bearer admin-SECRET-cache-0123456789' },
          })
        ).json()) as { semantic: { embedder: string; records: number } }
      ).semantic;
    assert.equal((await stats()).embedder, 'provider:text-embedding-3-small');
    const deadline = Date.now() + 3_000;
    while ((await stats()).records < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await stats()).records, 1);
    const other = await postJson(`${gw.url}/v1/chat/completions`, deterministic('Where is the Prado?'));
    assert.equal(other.headers.get('x-cache-status'), 'MISS');
    await other.text();
    assert.equal(
      gw.logs.some((l) => l.includes('sk-embed-SECRET')),
      false,
      'the key is never logged',
    );
  });
});
