import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  advance,
  chatContext,
  chunk,
  completion,
  deployment,
  recordingNext,
  samples,
  unitDeps,
} from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import { ProviderUnavailableError } from '../core/errors.js';
import {
  completionResult,
  type JsonResult,
  type OpenedStream,
  type Result,
  streamResult,
} from '../core/result.js';
import type { Stage } from '../core/stage.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import { type CacheFeature, createCacheFeature } from './feature.js';
import { MemoryCacheStore } from './memory-store.js';
import type { CacheStore } from './store.js';

const MINI = deployment('openai', 'gpt-4o-mini');
const TTL_SECONDS = 3600;
const ANSWER = completion('Hello!', { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 });
const DETERMINISTIC: Partial<ChatRequest> = { temperature: 0 };

interface Setup {
  clock: ReturnType<typeof fakeClock>;
  deps: ReturnType<typeof unitDeps>;
  feature: CacheFeature;
  stage: Stage;
  lookups: string[];
}

/**
 * The cache feature on the memory store, read through a wrapper that records lookups and makes each take
 * `lookupMs` of the fake clock's time.
 */
function setup(lookupMs = 0): Setup {
  const clock = fakeClock();
  const deps = unitDeps(clock);
  const config = loadConfig({ env: {} });
  assert.equal(config.cache.ttl_seconds, TTL_SECONDS);
  const memory = new MemoryCacheStore({
    maxEntries: config.cache.max_entries,
    maxBytes: config.cache.max_bytes,
    now: () => clock.wallNow(),
  });
  const lookups: string[] = [];
  const store: CacheStore = {
    backend: 'memory',
    get: async (key) => {
      lookups.push(key);
      advance(clock, lookupMs);
      return memory.get(key);
    },
    set: (key, entry, ttl) => memory.set(key, entry, ttl),
    delete: (key) => memory.delete(key),
    semanticAppend: (...args) => memory.semanticAppend(...args),
    semanticRead: (...args) => memory.semanticRead(...args),
    putNote: (...args) => memory.putNote(...args),
    getNote: (key) => memory.getNote(key),
    clear: (model) => memory.clear(model),
    stats: () => memory.stats(),
  };
  const feature = createCacheFeature(
    config.cache,
    { ...deps, selfUrl: 'http://127.0.0.1:1', embeddingApiKey: undefined },
    { store },
  );
  assert.ok(feature, 'the cache is on by default');
  return { clock, deps, feature, stage: feature.stage, lookups };
}

function request(s: Setup, body: Partial<ChatRequest> = DETERMINISTIC, headers = {}): RequestContext {
  const ctx = chatContext(s.clock, body, { headers });
  ctx.route = { name: 'gpt-4o-mini', kind: 'prefix', strategy: 'failover', deployments: [MINI] };
  return ctx;
}

/** The upstream, faked: answers ANSWER from MINI (as the call stage would, with its outcome). */
function upstream(answer: ChatCompletion = ANSWER) {
  return recordingNext(() => completionResult(structuredClone(answer), 'upstream', MINI));
}

describe('cache stage: exact layer', () => {
  test('first request MISS (next called); an identical one HIT from the cache (next not called)', async () => {
    const s = setup();
    const { next, calls } = upstream();
    const first = request(s);
    const missed = (await s.stage.run(first, next)) as JsonResult;
    assert.equal(calls.length, 1);
    assert.equal(missed.outcome.source, 'upstream');
    assert.deepEqual(first.cache, { status: 'MISS', type: null });
    assert.equal(first.responseHeaders['x-cache-status'], 'MISS');
    await s.feature.cache.drain(); // the store write happens off the response path

    const second = request(s);
    const hit = (await s.stage.run(second, next)) as JsonResult;
    assert.equal(calls.length, 1, 'a hit does not call next');
    assert.equal(hit.kind, 'json');
    assert.equal(hit.outcome.source, 'cache');
    assert.equal(hit.outcome.deployment, MINI);
    assert.deepEqual(hit.outcome.usage, ANSWER.usage, 'the cached usage, so accounting can count the saving');
    assert.deepEqual((hit.body as ChatCompletion).choices[0]?.message, ANSWER.choices[0]?.message);
    assert.deepEqual(second.cache, { status: 'HIT', type: 'exact' });
    assert.equal(second.responseHeaders['x-cache-status'], 'HIT');
    assert.equal(second.responseHeaders['x-cache-type'], 'EXACT');
    assert.equal((await samples(s.deps.metrics, 'llm_cache_hits_total'))[0]?.value, 1);
    assert.equal((await samples(s.deps.metrics, 'llm_cache_misses_total'))[0]?.value, 1);
  });

  test('lookups are timed on the injected clock (timings.cache)', async () => {
    const s = setup(5);
    const ctx = request(s);
    await s.stage.run(ctx, upstream().next);
    assert.equal(s.lookups.length, 1);
    assert.ok(ctx.timings.cache >= 5 && ctx.timings.cache < 1_005, `timings.cache = ${ctx.timings.cache}`);
  });

  test('a different question is a MISS; key order and the user field do not matter', async () => {
    const s = setup();
    const { next, calls } = upstream();
    await s.stage.run(request(s), next);
    await s.feature.cache.drain();
    await s.stage.run(request(s, { ...DETERMINISTIC, messages: [{ role: 'user', content: 'Other' }] }), next);
    assert.equal(calls.length, 2);
    const reordered = request(s, { user: 'someone', temperature: 0, model: 'gpt-4o-mini' });
    await s.stage.run(reordered, next);
    assert.equal(reordered.cache.status, 'HIT');
    assert.equal(calls.length, 2);
  });

  test('an entry expires after its TTL on the injected clock', async () => {
    const s = setup();
    const { next, calls } = upstream();
    await s.stage.run(request(s), next);
    await s.feature.cache.drain();
    advance(s.clock, (TTL_SECONDS - 1) * 1000);
    assert.equal((await s.stage.run(request(s), next)).outcome.source, 'cache');
    advance(s.clock, 2_000);
    const late = request(s);
    await s.stage.run(late, next);
    assert.equal(late.cache.status, 'MISS');
    assert.equal(calls.length, 2);
  });

  test('temperature above cache.max_temperature (or unset: OpenAI’s default is 1) → BYPASS, always next', async () => {
    const s = setup();
    const { next, calls } = upstream();
    for (const body of [{ temperature: 0.7 }, { temperature: 0.7 }, {}]) {
      const ctx = request(s, body);
      const result = await s.stage.run(ctx, next);
      await s.feature.cache.drain();
      assert.equal(result.outcome.source, 'upstream');
      assert.deepEqual(ctx.cache, { status: 'BYPASS', type: null });
      assert.equal(ctx.responseHeaders['x-cache-status'], 'BYPASS');
    }
    assert.equal(calls.length, 3);
    assert.equal(s.lookups.length, 0, 'not even looked up');
  });

  test('Cache-Control: no-cache skips the lookup but the answer is still stored', async () => {
    const s = setup();
    const { next, calls } = upstream();
    const bypass = request(s, DETERMINISTIC, { 'cache-control': 'no-cache' });
    await s.stage.run(bypass, next);
    assert.equal(bypass.cache.status, 'BYPASS');
    await s.feature.cache.drain();
    const after = request(s);
    await s.stage.run(after, next);
    assert.equal(after.cache.status, 'HIT');
    assert.equal(calls.length, 1);
  });

  test('Cache-Control: no-store: answered from upstream and not stored', async () => {
    const s = setup();
    const { next, calls } = upstream();
    await s.stage.run(request(s, DETERMINISTIC, { 'cache-control': 'no-store' }), next);
    await s.feature.cache.drain();
    const after = request(s);
    await s.stage.run(after, next);
    assert.equal(after.cache.status, 'MISS');
    assert.equal(calls.length, 2);
  });

  test('an unfinished answer (no finish_reason) is not stored', async () => {
    const s = setup();
    const truncated = structuredClone(ANSWER);
    (truncated.choices[0] as { finish_reason: unknown }).finish_reason = null;
    const { next, calls } = upstream(truncated);
    await s.stage.run(request(s), next);
    await s.feature.cache.drain();
    await s.stage.run(request(s), next);
    assert.equal(calls.length, 2);
  });

  test('an upstream error is passed on and nothing is stored', async () => {
    const s = setup();
    let fail = true;
    const { next, calls } = recordingNext(() => {
      if (fail) throw new ProviderUnavailableError('down', 'openai');
      return completionResult(structuredClone(ANSWER), 'upstream', MINI);
    });
    await assert.rejects(s.stage.run(request(s), next), ProviderUnavailableError);
    await s.feature.cache.drain();
    fail = false;
    const retry = request(s);
    await s.stage.run(retry, next);
    assert.equal(retry.cache.status, 'MISS');
    assert.equal(calls.length, 2);
  });

  test('embeddings pass through untouched', async () => {
    const s = setup();
    const ctx = chatContext(s.clock, {}, { endpoint: 'embeddings' });
    ctx.request = {
      kind: 'embeddings',
      model: 'text-embedding-3-small',
      stream: false,
      body: { model: 'text-embedding-3-small', input: 'x' },
    };
    const { next, calls } = upstream();
    await s.stage.run(ctx, next);
    assert.equal(calls.length, 1);
    assert.equal(ctx.cache.status, null);
    assert.equal(s.lookups.length, 0);
  });
});

describe('cache stage: single-flight', () => {
  /** A fake upstream whose answer the test releases. */
  function heldUpstream() {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const recorded = recordingNext(async () => {
      await gate;
      return completionResult(structuredClone(ANSWER), 'upstream', MINI);
    });
    return { ...recorded, release };
  }

  /** Resolves once `next` was called `n` times (polls the event loop, no timers). */
  async function calledTimes(calls: unknown[], n: number): Promise<void> {
    for (let i = 0; i < 1000 && calls.length < n; i++) await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, n);
  }

  test('an identical request arriving while the first is in flight waits for it: next called once', async () => {
    const s = setup();
    const { next, calls, release } = heldUpstream();
    const a = request(s);
    const b = request(s);
    const first = s.stage.run(a, next);
    await calledTimes(calls, 1);
    const second = s.stage.run(b, next);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    release();
    const [ra, rb] = (await Promise.all([first, second])) as JsonResult[];
    assert.equal(calls.length, 1);
    assert.equal(ra?.outcome.source, 'upstream');
    assert.equal(rb?.outcome.source, 'cache', 'the waiter did not call upstream itself');
    const [bodyA, bodyB] = [ra?.body as { id: string }, rb?.body as { id: string }];
    assert.deepEqual({ ...bodyB, id: null }, { ...bodyA, id: null }, 'the same answer');
    assert.notEqual(bodyB.id, bodyA.id, 'in a response of its own');
    assert.deepEqual(b.cache, { status: 'HIT', type: 'exact' });
    assert.equal(b.responseHeaders['x-cache-coalesced'], 'true');
    assert.equal(a.cache.status, 'MISS');
  });

  test('two identical requests whose lookups finish in the same turn share one upstream call', async () => {
    const s = setup();
    const { next, calls, release } = heldUpstream();
    const a = request(s);
    const b = request(s);
    const both = Promise.all([s.stage.run(a, next), s.stage.run(b, next)]);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    release();
    const [ra, rb] = (await both) as JsonResult[];
    assert.equal(calls.length, 1, 'the second joined the flight the first registered');
    assert.deepEqual([ra?.outcome.source, rb?.outcome.source], ['upstream', 'cache']);
  });

  test('a leader’s error reaches the waiter too (both fail, one upstream call)', async () => {
    const s = setup();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { next, calls } = recordingNext(async () => {
      await gate;
      throw new ProviderUnavailableError('down', 'openai');
    });
    const first = s.stage.run(request(s), next);
    await calledTimes(calls, 1);
    const waiter = request(s);
    const second = s.stage.run(waiter, next);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    release();
    await assert.rejects(first, ProviderUnavailableError);
    await assert.rejects(second, ProviderUnavailableError);
    assert.equal(calls.length, 1);
    assert.equal(waiter.cache.status, 'MISS');
  });
});

describe('cache stage: streams', () => {
  function opened(chunks: ChatCompletionChunk[]): OpenedStream {
    const rest = chunks.slice(1)[Symbol.iterator]();
    return { head: chunks.slice(0, 1), rest: { next: async () => rest.next() }, close: () => undefined };
  }

  async function text(result: Result): Promise<string> {
    assert.equal(result.kind, 'stream');
    if (result.kind !== 'stream') return '';
    const parts: string[] = [];
    const all = [...result.head];
    for (let n = await result.rest.next(); !n.done; n = await result.rest.next()) all.push(n.value);
    for (const c of all) parts.push(c.choices[0]?.delta?.content ?? '');
    result.end({ complete: true });
    await result.done;
    return parts.join('');
  }

  test('a complete stream is stored; the identical stream request is replayed from the cache', async () => {
    const s = setup();
    const { next, calls } = recordingNext((c) =>
      streamResult(
        opened([chunk(null), chunk('Hel'), chunk('lo', 'stop')]),
        'upstream',
        MINI,
        () => c.startedAt,
      ),
    );
    const first = request(s, { ...DETERMINISTIC, stream: true });
    assert.equal(await text(await s.stage.run(first, next)), 'Hello');
    assert.equal(first.cache.status, 'MISS');
    await s.feature.cache.drain();
    const second = request(s, { ...DETERMINISTIC, stream: true });
    const replayed = await s.stage.run(second, next);
    assert.equal(replayed.outcome.source, 'cache');
    assert.equal(await text(replayed), 'Hello');
    assert.equal(second.responseHeaders['x-cache-status'], 'HIT');
    assert.equal(calls.length, 1);
  });
});
