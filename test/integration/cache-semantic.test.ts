/**
 * The semantic layer's plumbing (DESIGN §6), with a deterministic TEST DOUBLE embedder (bag of words, see
 * test/helpers/cache.ts) and a plain threshold guard: it is checked only on an exact miss, only within the
 * same partition (model, parameters, conversation before the last user message), an embedder that fails
 * or is slow is a miss, and with Redis a record written by one instance is found by another. The quality of
 * matching with the real embedder is tested in cache-semantic-model.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { deterministic, startCacheGateway, thresholdGuard, wordEmbedder } from '../helpers/cache.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import { REDIS_URL, requireServices, uniquePrefix } from '../helpers/services.js';

const skipRedis = await requireServices('redis');
const SEMANTIC_ENV = { ENABLE_SEMANTIC_CACHE: 'true', SEMANTIC_CACHE_TIMEOUT_MS: '100' };

async function status(url: string, body: unknown): Promise<string | null> {
  const res = await postJson(`${url}/v1/chat/completions`, body);
  assert.equal(res.status, 200);
  await res.text();
  return `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`;
}

describe('semantic cache (memory backend, test embedder)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  const embedder = wordEmbedder();

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: SEMANTIC_ENV,
      cache: { embedder, guard: thresholdGuard(0.9) },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    embedder.fail = false;
    embedder.delayMs = 0;
  });

  test('a rephrased question in the same partition is a SEMANTIC hit; exact hits skip the embedder', async () => {
    assert.equal(await status(gw.url, deterministic('What is the capital of France?')), 'MISS/MISS');
    const calls = embedder.calls;
    assert.equal(await status(gw.url, deterministic('What is the capital of France?')), 'HIT/EXACT');
    assert.equal(embedder.calls, calls, 'an exact hit never embeds');
    const res = await postJson(
      `${gw.url}/v1/chat/completions`,
      deterministic('what is THE capital of france'),
    );
    assert.equal(res.headers.get('x-cache-status'), 'HIT');
    assert.equal(res.headers.get('x-cache-type'), 'SEMANTIC');
    const body = (await res.json()) as { usage: { total_tokens: number } };
    assert.ok(body.usage.total_tokens > 0, 'the cached usage is reported');
    assert.equal(mock.requests.length, 1);
    const stream = await postJson(`${gw.url}/v1/chat/completions`, {
      ...deterministic('capital of france: what is the?'),
      stream: true,
    });
    assert.equal(stream.headers.get('x-cache-type'), 'SEMANTIC');
    assert.equal((await readSseData(stream.response)).at(-1), '[DONE]');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llm_semantic_cache_hits_total 2\b/);
    assert.match(metrics, /llm_cache_hits_total\{cache_type="semantic"\} 2\b/);
  });

  test('below the threshold, another system prompt, other parameters or another model: no hit', async () => {
    await status(gw.url, deterministic('How tall is the Eiffel tower?'));
    assert.equal(await status(gw.url, deterministic('How tall is the Berlin tower?')), 'MISS/MISS');
    const withSystem = {
      ...deterministic('how tall is the eiffel tower'),
      messages: [
        { role: 'system', content: 'Answer as a pirate.' },
        { role: 'user', content: 'how tall is the eiffel tower' },
      ],
    };
    assert.equal(await status(gw.url, withSystem), 'MISS/MISS');
    assert.equal(
      await status(gw.url, deterministic('how tall is the eiffel tower', { max_tokens: 5 })),
      'MISS/MISS',
    );
    assert.equal(
      await status(gw.url, deterministic('how tall is the eiffel tower', { model: 'gpt-4o' })),
      'MISS/MISS',
    );
    assert.equal(await status(gw.url, deterministic('how tall is the eiffel tower')), 'HIT/SEMANTIC');
  });

  test('an embedder that fails or is slow makes a miss, never an error', async () => {
    await status(gw.url, deterministic('Which river flows through Paris?'));
    embedder.fail = true;
    assert.equal(await status(gw.url, deterministic('which river flows through paris')), 'MISS/MISS');
    embedder.fail = false;
    embedder.delayMs = 2_000;
    const started = performance.now();
    assert.equal(await status(gw.url, deterministic('which river flows through PARIS')), 'MISS/MISS');
    assert.ok(performance.now() - started < 1_500, 'the bounded wait did not hold the request');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    // The slow call was given up and counted (a failing embedder counts its own failures).
    assert.match(metrics, /llm_dependency_errors_total\{dependency="embedder"\} [1-9]/);
  });
});

describe('semantic cache searched through the HNSW graph (SEMANTIC_CACHE_ANN_FROM=1)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: { ...SEMANTIC_ENV, SEMANTIC_CACHE_ANN_FROM: '1' },
      cache: { embedder: wordEmbedder(), guard: thresholdGuard(0.9) },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('each new entry is found by the very next request, with its score on X-Cache-Score', async () => {
    for (const [question, paraphrase] of [
      ['Who painted the Mona Lisa?', 'who painted the mona lisa'],
      ['How far is the Moon from Earth?', 'how far is the moon from earth'],
      ['What is the boiling point of water?', 'what is THE boiling point of water'],
    ] as const) {
      assert.equal(await status(gw.url, deterministic(question)), 'MISS/MISS');
      const res = await postJson(`${gw.url}/v1/chat/completions`, deterministic(paraphrase));
      await res.text();
      assert.equal(res.headers.get('x-cache-type'), 'SEMANTIC', paraphrase);
      const score = Number(res.headers.get('x-cache-score'));
      assert.ok(score >= 0.9 && score <= 1.0001, String(score));
    }
    assert.equal(await status(gw.url, deterministic('Who painted the Sistine Chapel?')), 'MISS/MISS');
    assert.equal(mock.requests.length, 4);
  });
});

describe('semantic cache shared through Redis (two instances, test embedder)', { skip: skipRedis }, () => {
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    const env = {
      ...SEMANTIC_ENV,
      REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('semantic'),
      REDIS_COMMAND_TIMEOUT_MS: '500',
    };
    a = await startCacheGateway({
      mock,
      env,
      cache: { embedder: wordEmbedder(), guard: thresholdGuard(0.9) },
    });
    b = await startCacheGateway({
      mock,
      env,
      cache: { embedder: wordEmbedder(), guard: thresholdGuard(0.9) },
    });
  });
  after(async () => {
    await fetch(`${a.url}/admin/cache`, {
      method: 'DELETE',
      headers: { authorization: 'Bearer admin-SECRET-cache-0123456789' },
    });
    await a.close();
    await b.close();
    await mock.close();
  });

  test('a record written by one instance answers a paraphrase on the other', async () => {
    assert.equal(await status(a.url, deterministic('Who wrote the novel Dracula?')), 'MISS/MISS');
    // B learns of A's records incrementally; poll until A's background write landed.
    const deadline = Date.now() + 3_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await status(b.url, deterministic('who wrote the novel dracula', { seed: 1 }))) ?? '';
      // `seed` puts the probe in another partition: it must never hit, and keeps the real probe unspent.
      assert.equal(seen, 'MISS/MISS');
      const real = await status(b.url, deterministic('who wrote the NOVEL dracula'));
      if (real === 'HIT/SEMANTIC') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('instance B never saw the record of instance A');
  });
});
