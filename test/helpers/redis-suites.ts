/**
 * The same checks of limits, budgets and cache against any Redis topology (the Cluster and Sentinel test
 * files run them): the stores directly, and two real gateways sharing the topology.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RedisBudgetStore } from '../../src/accounting/budget-store.js';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { CacheEntry } from '../../src/cache/entry.js';
import { RedisCacheStore } from '../../src/cache/redis-store.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { RedisRateLimiter } from '../../src/ratelimit/redis.js';
import type { RedisStore } from '../../src/stores/redis.js';
import { budgetBase } from '../../src/stores/redis-keys.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { adminHeaders, deterministic, startCacheGateway, thresholdGuard, wordEmbedder } from './cache.js';
import { postJson, type TestGateway, userMessage } from './gateway.js';
import { until } from './poll.js';
import { uniquePrefix } from './services.js';

const DAY = 86_400_000;
const quiet = { logger: createLogger({ level: 'silent' }), metrics: createMetrics() };

/** A counter of the budget store for `user` (its user counter, or a key's). */
function counter(prefix: string, user: string, limitMicros: number, keyId?: string) {
  const base = budgetBase(prefix, user);
  return {
    key: keyId ? `${base}:key:${keyId}:d:test` : `${base}:user:d:test`,
    limitMicros,
    periodEndsAt: Date.now() + DAY,
  };
}

/**
 * Direct store checks: every script with several keys (token buckets, budget escrow, semantic partitions)
 * and the admin walks (stats, clear) on the topology `store()` is connected to.
 */
export function storeChecks(label: string, store: () => RedisStore, prefix: string): void {
  describe(`${label}: stores`, () => {
    test('token buckets: the request and token buckets of a user in one script; 5 of 8 taken', async () => {
      const limiter = new RedisRateLimiter(store());
      const specs = [
        { name: 'r' as const, ratePerMs: 1 / 600_000, capacity: 5, cost: 1 },
        { name: 't' as const, ratePerMs: 1 / 600_000, capacity: 1_000, cost: 10 },
      ];
      const results = [];
      for (let i = 0; i < 8; i++) results.push(await limiter.take('alice', specs, 'take'));
      assert.deepEqual(
        results.map((r) => r.allowed),
        [true, true, true, true, true, false, false, false],
      );
      assert.equal(results[4]?.buckets[1]?.tokens, 950, 'five takes of 10 tokens');
      assert.ok((results[5]?.buckets[0]?.retryAfterMs ?? 0) > 0);
      // Other users are limited on their own.
      assert.equal((await limiter.take('bob', specs, 'take')).allowed, true);
    });

    test('budget escrow: 40 concurrent reservations on a limit of 25 (user and key counters) → exactly 25', async () => {
      const budgets = new RedisBudgetStore(store());
      const counters = [counter(prefix, 'carol', 25), counter(prefix, 'carol', 1_000, 'key-1')];
      const now = Date.now();
      const refused = await Promise.all(Array.from({ length: 40 }, () => budgets.reserve(counters, 1, now)));
      assert.equal(refused.filter((r) => r === 0).length, 25);
      assert.ok(
        refused.every((r) => r === 0 || r === 1),
        'refused by the user counter (index 1)',
      );
      assert.equal(await budgets.read(counters[0]?.key ?? ''), 25);
      assert.equal(await budgets.read(counters[1]?.key ?? ''), 25);
      // Settling refunds what was reserved and not spent, on both counters at once.
      await budgets.adjust(counters, -10);
      assert.equal(await budgets.read(counters[0]?.key ?? ''), 15);
      assert.equal(await budgets.read(counters[1]?.key ?? ''), 15);
      assert.equal(await budgets.reserve(counters, 10, now), 0);
      assert.equal(await budgets.reserve(counters, 1, now), 1);
    });

    test('cache: entries and semantic partitions, stats and clear over the whole keyspace', async () => {
      const cache = new RedisCacheStore(store(), { compressAboveBytes: 1_000_000 }, quiet);
      const entry: CacheEntry = {
        v: 1,
        model: 'm',
        provider: 'openai',
        deployment_model: 'm',
        served_model: 'm',
        created: 1,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'hi', refusal: null },
            finish_reason: 'stop',
            logprobs: null,
          },
        ],
        usage: null,
        stored_at: 1,
      };
      for (let i = 0; i < 30; i++) await cache.set(`m:${String(i).padStart(64, '0')}`, entry, 600);
      assert.deepEqual(await cache.get(`m:${'0'.repeat(62)}12`), entry);
      const vector = new Float32Array([0.6, 0.8]);
      for (let i = 0; i < 3; i++) {
        await cache.semanticAppend(
          'p1',
          'm',
          { text: `q${i}`, vector, key: `k${i}`, expiresAt: 1e13 },
          2,
          600,
        );
      }
      const delta = await cache.semanticRead('p1', 'm', 0, 2);
      assert.equal(delta?.seq, 3);
      assert.deepEqual(
        delta?.records.map((r) => r.text),
        ['q2', 'q1'],
        'newest first, trimmed to max entries',
      );
      // An adjustment (decision 0174) round-trips without a vector, as a score bar for its entry.
      const bar = { text: '', vector: new Float32Array(0), key: 'k1', expiresAt: 1e13, minScore: 0.75 };
      await cache.semanticAppend('p1', 'm', bar, 2, 600);
      assert.deepEqual((await cache.semanticRead('p1', 'm', 3, 2))?.records, [bar]);
      await cache.putNote('semantic-hit:r1', '{"k":"k1"}', 600);
      assert.equal(await cache.getNote('semantic-hit:r1'), '{"k":"k1"}');
      assert.equal(await cache.getNote('semantic-hit:r2'), null);
      const stats = await cache.stats();
      assert.equal(stats.entries, 30, 'stats count the entries of every node');
      assert.equal(stats.semantic_records, 2);
      assert.equal(await cache.clear(), 33, '30 entries, the partition (list and sequence) and the note');
      assert.equal((await cache.stats()).entries, 0);
      assert.equal(await cache.get(`m:${'0'.repeat(62)}12`), null);
    });
  });
}

const MODEL = 'gpt-4o-mini';
const MAX_TOKENS = 200;
const budgetBody = {
  model: MODEL,
  max_tokens: MAX_TOKENS,
  messages: [{ role: 'user', content: 'Summarise the quarterly report in three sentences.' }],
} as ChatRequest;

/**
 * Two real gateways sharing the topology (`env()` names it: REDIS_MODE and its addresses): one global
 * request limit, token limit, budget and cache.
 */
export function gatewayChecks(label: string, env: () => Record<string, string>): void {
  describe(`${label}: two gateways`, () => {
    const price = new PriceTable().priceOf(MODEL);
    assert.ok(price);
    const promptTokens = reservedPromptTokens(budgetBody);
    const worstMicros = reservationMicros(price, promptTokens, MAX_TOKENS);
    const K = 2;
    let mock: MockUpstream;
    const gws: TestGateway[] = [];
    const embedder = wordEmbedder();
    const chat = (i: number, body: unknown, user: string) =>
      postJson(`${gws[i % 2]?.url}/v1/chat/completions`, body, { 'x-user-id': user });

    before(async () => {
      mock = await MockUpstream.start();
      mock.setAnswer({ usage: { prompt: promptTokens, completion: MAX_TOKENS, cached: 0 } });
      const shared = {
        ...env(),
        REDIS_KEY_PREFIX: uniquePrefix('topology'),
        REDIS_COMMAND_TIMEOUT_MS: '2000',
        RATE_LIMIT_ENABLED: 'true',
        ENABLE_SEMANTIC_CACHE: 'true',
        SEMANTIC_CACHE_TIMEOUT_MS: '1000',
      };
      // Requests: bursts of 3, one more every 10 s. Tokens: 1,000, refilled at 1 a minute.
      const yaml = `budgets:
  users:
    budget-user: { daily_usd: ${(K * worstMicros) / 1e6} }
rate_limit:
  default_rate: 6
  default_capacity: 3
  tiers:
    free: { rate_per_minute: 6, capacity: 3, tokens_per_minute: 1, token_capacity: 1000 }
`;
      for (let i = 0; i < 2; i++) {
        gws.push(
          await startCacheGateway({
            mock,
            env: shared,
            yaml,
            cache: { embedder, guard: thresholdGuard(0.9) },
          }),
        );
      }
    });
    after(async () => {
      for (const gw of gws) await gw.close();
      await mock?.close();
    });

    test('one request limit across both: 3 of 8 concurrent requests pass, the rest get 429', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          chat(i, { model: MODEL, messages: userMessage('hi') }, 'rpm-user'),
        ),
      );
      for (const r of results) await r.text();
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 200, 200, 429, 429, 429, 429, 429]);
    });

    test('one token limit: a prompt larger than the tokens left is refused on the other gateway', async () => {
      const first = await chat(0, { model: MODEL, messages: userMessage('x'.repeat(2000)) }, 'tpm-user');
      assert.equal(first.status, 200);
      await first.text();
      // ~500 tokens estimated for this one, ~1,100 for the next: over the 1,000 minus what the first used.
      const big = await chat(1, { model: MODEL, messages: userMessage('y'.repeat(4400)) }, 'tpm-user');
      assert.equal(big.status, 429);
      assert.match(((await big.json()) as { error: { message: string } }).error.message, /tokens per minute/);
    });

    test(`one budget: 12 concurrent requests over both gateways; 3 pass the limit, ${K} fit the budget`, async () => {
      const before = mock.requests.length;
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => chat(i, budgetBody, 'budget-user')),
      );
      const bodies = await Promise.all(results.map((r) => r.json() as Promise<{ error?: { code: string } }>));
      const codes = bodies.map((b) => b.error?.code ?? 'ok').sort();
      // Rate limit first (3 a burst), then the escrow: exactly K of those 3 fit the budget.
      assert.deepEqual(codes, [
        'budget_exceeded',
        'ok',
        'ok',
        ...Array.from({ length: 9 }, () => 'rate_limit_exceeded'),
      ]);
      assert.equal(mock.requests.length - before, K, 'refused requests never reach the upstream');
      const spent = results
        .filter((r) => r.status === 200)
        .reduce((sum, r) => sum + Math.round(Number(r.headers.get('x-cost')) * 1e6), 0);
      assert.ok(spent > 0 && spent <= K * worstMicros, `spent ${spent} µ$ of ${K * worstMicros}`);
    });

    test('a cached answer written by one gateway is an exact hit on the other; semantic too', async () => {
      const miss = await chat(0, deterministic('What is the capital of France?'), 'cache-user-1');
      assert.equal(miss.headers.get('x-cache-status'), 'MISS');
      await miss.text();
      await until(
        'the entry in Redis',
        async () => {
          const res = await chat(
            1,
            deterministic('What is the capital of France?'),
            `cache-user-${Math.random()}`,
          );
          await res.text();
          return `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`;
        },
        (s) => s === 'HIT/EXACT',
      );
      await until(
        'the semantic record in Redis',
        async () => {
          const res = await chat(
            1,
            deterministic('what is THE capital of france'),
            `cache-user-${Math.random()}`,
          );
          await res.text();
          return `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`;
        },
        (s) => s === 'HIT/SEMANTIC',
      );
      const stats = (await (
        await fetch(`${gws[1]?.url}/admin/cache/stats`, { headers: adminHeaders })
      ).json()) as {
        backend: string;
        entries: number;
      };
      assert.equal(stats.backend, 'redis');
      assert.ok(stats.entries >= 1);
      const del = await fetch(`${gws[0]?.url}/admin/cache`, { method: 'DELETE', headers: adminHeaders });
      assert.ok(((await del.json()) as { deleted: number }).deleted >= 2, 'the entry and the partition');
      const again = await chat(1, deterministic('What is the capital of France?'), 'cache-user-3');
      assert.equal(again.headers.get('x-cache-status'), 'MISS');
      await again.text();
    });
  });
}
