import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createMetrics } from '../../telemetry/metrics.js';
import { MemoryCacheStore } from '../memory-store.js';
import { dot, l2Normalise } from './embedders.js';
import { SemanticCache } from './semantic-cache.js';
import type { Embedder, MatchGuard } from './types.js';
import { PartitionIndex } from './vector-index.js';

const DIMS = 32;

/** Deterministic vectors: clusters around a few centres, like paraphrases of a few questions. */
function vectors(count: number, seed = 1): Float32Array[] {
  let s = seed;
  const random = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const centres = Array.from({ length: 200 }, () => Float32Array.from({ length: DIMS }, random));
  return Array.from({ length: count }, (_, i) => {
    const c = centres[i % centres.length]!;
    return l2Normalise(Float32Array.from(c, (x) => x + 0.3 * random()));
  });
}

const record = (i: number, vector: Float32Array, expiresAt = Number.MAX_SAFE_INTEGER) => ({
  text: `text ${i}`,
  key: `key-${i}`,
  expiresAt,
  vector,
});

describe('partition index', () => {
  test('the HNSW graph finds what the flat scan finds (recall@10 ≥ 0.95)', () => {
    const data = vectors(3000);
    const queries = vectors(50, 7);
    const ann = new PartitionIndex(DIMS, { maxEntries: 10_000, annFrom: 100 });
    const flat = new PartitionIndex(DIMS, { maxEntries: 10_000, annFrom: 1_000_000 });
    ann.add(data.map((v, i) => record(i, v)));
    flat.add(data.map((v, i) => record(i, v)));
    assert.equal(ann.approximate, true);
    assert.equal(flat.approximate, false);
    let found = 0;
    for (const q of queries) {
      const exact = new Set(flat.search(q, 10, -2, 0).map((h) => h.record.key));
      assert.equal(exact.size, 10);
      for (const hit of ann.search(q, 10, -2, 0)) if (exact.has(hit.record.key)) found++;
    }
    assert.ok(found / (queries.length * 10) >= 0.95, `recall ${found / (queries.length * 10)}`);
  });

  test('scores are cosines, best first, above the cut-off only', () => {
    const data = vectors(500);
    const index = new PartitionIndex(DIMS, { maxEntries: 1000, annFrom: 100 });
    index.add(data.map((v, i) => record(i, v)));
    const hits = index.search(data[42]!, 5, 0.5, 0);
    assert.equal(hits[0]!.record.key, 'key-42');
    for (const h of hits) {
      const i = Number(h.record.key.slice(4));
      assert.ok(Math.abs(h.score - dot(data[42]!, data[i]!)) < 1e-4);
      assert.ok(h.score >= 0.5);
    }
    for (let i = 1; i < hits.length; i++) assert.ok(hits[i - 1]!.score >= hits[i]!.score);
  });

  test('a hit carries its record vector in flat mode, and in graph mode with keepVectors only', () => {
    const data = vectors(300);
    for (const [annFrom, keepVectors, has] of [
      [1_000_000, false, true],
      [100, true, true],
      [100, false, false],
    ] as const) {
      const index = new PartitionIndex(DIMS, { maxEntries: 250, annFrom, keepVectors });
      index.add(data.map((v, i) => record(i, v)));
      const [hit] = index.search(data[280]!, 1, 0.5, 0);
      assert.equal(hit?.record.key, 'key-280');
      if (has) assert.deepEqual(hit.vector, data[280], `annFrom ${annFrom}, keepVectors ${keepVectors}`);
      else assert.equal(hit.vector, undefined);
      // Evicted records (the oldest 50) are gone from the kept vectors too.
      assert.deepEqual(
        index.search(data[10]!, 5, 0.999, 0).map((h) => h.record.key),
        [],
        `annFrom ${annFrom}`,
      );
    }
  });

  test('keeps the newest maxEntries and skips expired records, in both modes', () => {
    for (const annFrom of [10, 1_000_000]) {
      const data = vectors(200);
      const index = new PartitionIndex(DIMS, { maxEntries: 100, annFrom });
      index.add(data.slice(0, 150).map((v, i) => record(i, v, i === 149 ? 1000 : Number.MAX_SAFE_INTEGER)));
      assert.equal(index.size, 100);
      const keys = (q: Float32Array) => index.search(q, 3, 0.99, 2000).map((h) => h.record.key);
      assert.deepEqual(keys(data[10]!), [], 'evicted (oldest)');
      assert.deepEqual(keys(data[120]!), ['key-120']);
      assert.deepEqual(keys(data[149]!), [], 'expired');
    }
  });
});

test('adjustments raise a per-entry score bar (the highest wins) and are never searched', () => {
  const index = new PartitionIndex(DIMS, { maxEntries: 3 });
  const [v] = vectors(1);
  assert.equal(index.barOf('key-0'), Number.NEGATIVE_INFINITY);
  const adjust = (key: string, minScore: number) => ({
    text: '',
    key,
    expiresAt: Number.MAX_SAFE_INTEGER,
    vector: new Float32Array(0),
    minScore,
  });
  index.add([record(0, v!), adjust('key-0', 0.8), adjust('key-0', 0.7)]);
  assert.equal(index.barOf('key-0'), 0.8);
  assert.equal(index.size, 1, 'adjustments take no place among the records');
  assert.deepEqual(
    index.search(v!, 5, -1, 0).map((h) => h.record.key),
    ['key-0'],
  );
  index.add([adjust('key-0', 0.9)]);
  assert.equal(index.barOf('key-0'), 0.9);
  // At most maxEntries bars: the one raised longest ago goes first.
  index.add([adjust('a', 0.1), adjust('b', 0.1), adjust('c', 0.1)]);
  assert.equal(index.barOf('key-0'), Number.NEGATIVE_INFINITY);
  assert.equal(index.barOf('c'), 0.1);
});

describe('semantic cache lookup over the index', () => {
  const exact: MatchGuard = { threshold: 0.99, accept: () => true };
  const embedder: Embedder = { id: 'test', dimensions: DIMS, embed: async () => [] };
  const deps = { logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) };

  test('an entry is found by the next lookup on the instance that wrote it, and by another instance', async () => {
    const now = () => 1_000;
    const store = new MemoryCacheStore({ maxEntries: 100_000, maxBytes: 512 * 1024 * 1024, now });
    const options = { maxEntries: 10_000, timeoutMs: 100, now, index: { annFrom: 64 } };
    const writer = new SemanticCache(store, embedder, exact, options, deps);
    const reader = new SemanticCache(store, embedder, exact, options, deps);
    const data = vectors(300);
    const query = (i: number) => ({ text: `text ${i}`, partition: 'p1' });
    for (let i = 0; i < 200; i++) await writer.add(query(i), 'm', data[i]!, `key-${i}`, 60);
    assert.equal((await reader.lookup(query(5), 'm', data[5]!))?.key, 'key-5');
    // Past annFrom both mirrors search the graph; a record added now is found by the very next lookup.
    await writer.add(query(250), 'm', data[250]!, 'key-250', 60);
    assert.equal((await writer.lookup(query(250), 'm', data[250]!))?.key, 'key-250');
    assert.equal((await reader.lookup(query(250), 'm', data[250]!))?.key, 'key-250');
    assert.equal(
      await reader.lookup({ text: 'x', partition: 'p2' }, 'm', data[250]!),
      null,
      'other partition',
    );
  });

  test('a matcher that needs vectors gets the query vector and the record vector, in graph mode too', async () => {
    const now = () => 1_000;
    const store = new MemoryCacheStore({ maxEntries: 100_000, maxBytes: 512 * 1024 * 1024, now });
    const given: { query: Float32Array; cached: Float32Array }[] = [];
    const pairwise: MatchGuard = {
      threshold: 0.99,
      needsVectors: true,
      accept: () => false,
      judge: (_q, _c, cosine, vectors) => {
        if (vectors) given.push(vectors);
        return { accepted: vectors !== undefined, score: cosine };
      },
    };
    const cache = new SemanticCache(
      store,
      embedder,
      pairwise,
      {
        maxEntries: 10_000,
        timeoutMs: 100,
        now,
        index: { annFrom: 64 },
      },
      deps,
    );
    const data = vectors(100);
    for (let i = 0; i < 100; i++)
      await cache.add({ text: `text ${i}`, partition: 'p' }, 'm', data[i]!, `key-${i}`, 60);
    const match = await cache.lookup({ text: 'q', partition: 'p' }, 'm', data[77]!);
    assert.equal(match?.key, 'key-77');
    assert.equal(given[0]!.query, data[77]);
    assert.deepEqual(given[0]!.cached, data[77]);
  });

  test('the matcher gets the best candidates first and its score is the match score', async () => {
    const now = () => 1_000;
    const store = new MemoryCacheStore({ maxEntries: 1000, maxBytes: 64 * 1024 * 1024, now });
    const seen: string[] = [];
    const picky: MatchGuard = {
      threshold: -1,
      accept: () => false,
      judge: (_q, cached, cosine) => {
        seen.push(cached);
        return { accepted: cached === 'text 2', score: cosine / 2 };
      },
    };
    const cache = new SemanticCache(store, embedder, picky, { maxEntries: 100, timeoutMs: 100, now }, deps);
    const data = vectors(3);
    for (let i = 0; i < 3; i++)
      await cache.add({ text: `text ${i}`, partition: 'p' }, 'm', data[i]!, `key-${i}`, 60);
    const match = await cache.lookup({ text: 'q', partition: 'p' }, 'm', data[0]!);
    assert.equal(seen[0], 'text 0', 'the best candidate first');
    assert.equal(match?.key, 'key-2');
    assert.ok(Math.abs(match!.score - match!.cosine / 2) < 1e-9);
  });
});
