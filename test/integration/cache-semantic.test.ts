/**
 * The semantic layer's plumbing (DESIGN §6), with a deterministic TEST DOUBLE embedder (bag of words, see
 * test/helpers/cache.ts) and a plain threshold guard: it is checked only on an exact miss, only within the
 * same partition (model, parameters, conversation before the last user message), an embedder that fails
 * or is slow is a miss, and with Redis a record written by one instance is found by another. The quality of
 * matching with the real embedder is tested in cache-semantic-model.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import {
  adminHeaders,
  deterministic,
  startCacheGateway,
  thresholdGuard,
  wordEmbedder,
} from '../helpers/cache.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { REDIS_URL, requireServices, uniquePrefix } from '../helpers/services.js';

const skipRedis = await requireServices('redis');
const SEMANTIC_ENV = { ENABLE_SEMANTIC_CACHE: 'true', SEMANTIC_CACHE_TIMEOUT_MS: '100' };

/** Two gateway instances sharing one Redis (a fresh key prefix) and one mock upstream; `close` cleans up. */
function redisPair(env: Record<string, string>, threshold: number, yaml?: string) {
  const t = {} as { mock: MockUpstream; a: TestGateway; b: TestGateway };
  before(async () => {
    t.mock = await MockUpstream.start();
    const shared = {
      ...env,
      REDIS_URL,
      REDIS_KEY_PREFIX: uniquePrefix('semantic'),
      REDIS_COMMAND_TIMEOUT_MS: '500',
    };
    const start = () =>
      startCacheGateway({
        mock: t.mock,
        env: shared,
        yaml,
        cache: { embedder: wordEmbedder(), guard: thresholdGuard(threshold) },
      });
    t.a = await start();
    t.b = await start();
  });
  after(async () => {
    await fetch(`${t.a.url}/admin/cache`, { method: 'DELETE', headers: adminHeaders });
    await t.a.close();
    await t.b.close();
    await t.mock.close();
  });
  return t;
}

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

  test("the last user message's other fields count: another speaker (`name`) is no hit", async () => {
    const from = (name: string, text: string) => ({
      ...deterministic(text),
      messages: [{ role: 'user', content: text, name }],
    });
    assert.equal(await status(gw.url, from('alice', 'What is my account balance?')), 'MISS/MISS');
    assert.equal(await status(gw.url, from('alice', 'what is my account balance')), 'HIT/SEMANTIC');
    assert.equal(await status(gw.url, from('bob', 'What is my account balance?')), 'MISS/MISS');
    assert.equal(await status(gw.url, deterministic('What is my account balance?')), 'MISS/MISS');
    assert.equal(mock.requests.length, 3);
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
  const t = redisPair(SEMANTIC_ENV, 0.9);

  test('a record written by one instance answers a paraphrase on the other', async () => {
    assert.equal(await status(t.a.url, deterministic('Who wrote the novel Dracula?')), 'MISS/MISS');
    // B learns of A's records incrementally; poll until A's background write landed.
    const deadline = Date.now() + 3_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = (await status(t.b.url, deterministic('who wrote the novel dracula', { seed: 1 }))) ?? '';
      // `seed` puts the probe in another partition: it must never hit, and keeps the real probe unspent.
      assert.equal(seen, 'MISS/MISS');
      const real = await status(t.b.url, deterministic('who wrote the NOVEL dracula'));
      if (real === 'HIT/SEMANTIC') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail('instance B never saw the record of instance A');
  });
});

/**
 * Feedback on semantic hits (decision 0174): with SEMANTIC_CACHE_FEEDBACK_METRIC naming a boolean feedback
 * metric, `POST /v1/feedback` with `false` on a request the semantic cache answered raises the score its
 * entry needs above the one it was served at — on every instance sharing the store.
 */
const FEEDBACK_YAML = `
feedback:
  metrics:
    answer_ok:
      type: boolean
`;
const FEEDBACK_ENV = { ...SEMANTIC_ENV, SEMANTIC_CACHE_FEEDBACK_METRIC: 'answer_ok' };

/** `probe`: `Cache-Control: no-store` — looked up, never stored, so a probe leaves the partition as it was. */
async function ask(url: string, body: unknown, options: { probe?: boolean } = {}) {
  const headers: Record<string, string> = { 'x-user-id': 'alice' };
  if (options.probe) headers['cache-control'] = 'no-store';
  const res = await postJson(`${url}/v1/chat/completions`, body, headers);
  assert.equal(res.status, 200);
  await res.text();
  return {
    status: `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`,
    requestId: String(res.headers.get('x-gateway-request-id')),
  };
}

function sendFeedback(url: string, requestId: string, value: boolean, user = 'alice') {
  return postJson(
    `${url}/v1/feedback`,
    { request_id: requestId, metric: 'answer_ok', value },
    { 'x-user-id': user },
  );
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(pattern)?.[1] ?? 0);
}
const CONTRADICTED = /llm_semantic_cache_feedback_total\{outcome="contradicted"\} (\d+)/;

describe('feedback on semantic hits (memory backend, test embedder)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: FEEDBACK_ENV,
      yaml: FEEDBACK_YAML,
      cache: { embedder: wordEmbedder(), guard: thresholdGuard(0.5) },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('a hit reported wrong stops serving that entry at that score; right, or another caller: no change', async () => {
    const UPGRADE = deterministic('How do I upgrade my plan today?');
    assert.equal((await ask(gw.url, deterministic('How do I cancel my plan today?'))).status, 'MISS/MISS');
    const served = await ask(gw.url, UPGRADE);
    assert.equal(served.status, 'HIT/SEMANTIC');
    const confirmed = await ask(gw.url, deterministic('how do I cancel my plan today'));
    assert.equal(confirmed.status, 'HIT/SEMANTIC');

    // Right: counted only. Another caller's feedback on alice's request: answered as for an unknown id,
    // not stored, nothing changes.
    assert.equal((await sendFeedback(gw.url, confirmed.requestId, true)).status, 200);
    const foreign = await sendFeedback(gw.url, served.requestId, false, 'mallory');
    assert.equal(foreign.status, 200);
    assert.equal(((await foreign.json()) as { request_known: boolean }).request_known, false);
    await until(
      'confirmed counted',
      () => metric(gw.url, /llm_semantic_cache_feedback_total\{outcome="confirmed"\} (\d+)/),
      (n) => n === 1,
    );
    assert.equal(await metric(gw.url, CONTRADICTED), 0);
    assert.equal((await ask(gw.url, UPGRADE, { probe: true })).status, 'HIT/SEMANTIC');

    // Wrong: the entry is no longer served at that score (the same question now goes upstream) …
    assert.equal((await sendFeedback(gw.url, served.requestId, false)).status, 200);
    await until(
      'contradiction applied',
      () => metric(gw.url, CONTRADICTED),
      (n) => n === 1,
    );
    const calls = mock.requests.length;
    assert.equal((await ask(gw.url, UPGRADE, { probe: true })).status, 'MISS/MISS');
    assert.equal(mock.requests.length, calls + 1, 'answered by the upstream');
    assert.equal(await metric(gw.url, /llm_semantic_cache_vetoed_total (\d+)/), 1);
    // … while a closer paraphrase (a higher score than the one reported wrong) is still served from it.
    const closer = deterministic('how do I CANCEL my plan, today');
    assert.equal((await ask(gw.url, closer, { probe: true })).status, 'HIT/SEMANTIC');
    const stats = (await (await fetch(`${gw.url}/admin/cache/stats`, { headers: adminHeaders })).json()) as {
      semantic: { feedback: unknown };
    };
    assert.deepEqual(stats.semantic.feedback, {
      metric: 'answer_ok',
      contradicted: 1,
      confirmed: 1,
      unmatched: 0,
      vetoed: 1,
    });
  });

  test('feedback on a request that was not a semantic hit changes nothing', async () => {
    const miss = await ask(gw.url, deterministic('Which planet is the largest?'));
    assert.equal(miss.status, 'MISS/MISS');
    assert.equal((await sendFeedback(gw.url, miss.requestId, false)).status, 200);
    await until(
      'unmatched counted',
      () => metric(gw.url, /llm_semantic_cache_feedback_total\{outcome="unmatched"\} (\d+)/),
      (n) => n >= 1,
    );
    assert.equal((await ask(gw.url, deterministic('which planet is the LARGEST'))).status, 'HIT/SEMANTIC');
  });
});

test('SEMANTIC_CACHE_FEEDBACK_METRIC must name a declared boolean metric', () => {
  assert.throws(
    () => loadConfig({ env: { SEMANTIC_CACHE_FEEDBACK_METRIC: 'answer_ok' } }),
    /cache\.semantic\.feedback_metric: "answer_ok" must be a boolean metric declared in feedback\.metrics \(declared: none\)/,
  );
  assert.throws(
    () =>
      loadConfig({
        env: { SEMANTIC_CACHE_FEEDBACK_METRIC: 'stars' },
        yamlText: 'feedback:\n  metrics:\n    stars:\n      type: numeric\n',
      }),
    /must be a boolean metric declared in feedback\.metrics \(declared: stars\)/,
  );
  assert.equal(
    loadConfig({ env: FEEDBACK_ENV, yamlText: FEEDBACK_YAML }).cache.semantic.feedback_metric,
    'answer_ok',
  );
});

describe('feedback on semantic hits shared through Redis (two instances)', { skip: skipRedis }, () => {
  const t = redisPair(FEEDBACK_ENV, 0.5, FEEDBACK_YAML);

  test('feedback sent to one instance on a hit served by the other reaches both', async () => {
    assert.equal((await ask(t.a.url, deterministic('How do I pause my plan now?'))).status, 'MISS/MISS');
    const served = await until(
      'B sees A’s record',
      () => ask(t.b.url, deterministic('How do I resume my plan now?')),
      (r) => r.status === 'HIT/SEMANTIC',
    );
    // The note of B's hit is written off the response path: send until A has applied it.
    await until(
      'A applies the feedback',
      async () => {
        assert.equal((await sendFeedback(t.a.url, served.requestId, false)).status, 200);
        return metric(t.a.url, CONTRADICTED);
      },
      (n) => n >= 1,
    );
    for (const gw of [t.a, t.b]) {
      const again = await ask(gw.url, deterministic('How do I resume my plan now?'), { probe: true });
      assert.equal(again.status, 'MISS/MISS', gw.url);
    }
  });
});
