import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CacheEntry } from './entry.js';
import { MemoryCacheStore } from './memory-store.js';

function entry(model: string, text: string): CacheEntry {
  return {
    v: 1,
    model,
    provider: 'openai',
    deployment_model: model,
    served_model: model,
    created: 1,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    usage: null,
    stored_at: 0,
  };
}

describe('memory cache store', () => {
  test('bounded by entries: the least recently used goes first', async () => {
    let now = 0;
    const store = new MemoryCacheStore({ maxEntries: 2, maxBytes: 1e9, now: () => now });
    await store.set('a', entry('m', 'a'), 60);
    await store.set('b', entry('m', 'b'), 60);
    assert.ok(await store.get('a')); // a is now the most recently used
    await store.set('c', entry('m', 'c'), 60);
    assert.equal(await store.get('b'), null);
    assert.ok(await store.get('a'));
    assert.ok(await store.get('c'));
    now += 61_000;
    assert.equal(await store.get('a'), null, 'expired');
  });

  test('bounded by bytes', async () => {
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 2_000, now: () => 0 });
    for (let i = 0; i < 10; i++) await store.set(`k${i}`, entry('m', 'x'.repeat(400)), 60);
    const stats = await store.stats();
    assert.ok(stats.bytes <= 2_000, `${stats.bytes} bytes`);
    assert.ok(stats.entries < 10 && stats.entries > 0);
    assert.ok(await store.get('k9'));
    assert.equal(await store.get('k0'), null);
  });

  test('semantic partitions keep the most recent records and report only what is new', async () => {
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 1e9, now: () => 0 });
    const rec = (key: string) => ({ text: key, vector: new Float32Array([1, 0]), key, expiresAt: 1e12 });
    for (const k of ['r1', 'r2', 'r3']) await store.semanticAppend('p', 'm', rec(k), 2, 60);
    const all = await store.semanticRead('p', 'm', 0, 2);
    assert.deepEqual(
      all.records.map((r) => r.key),
      ['r3', 'r2'],
    );
    assert.equal(all.seq, 3);
    await store.semanticAppend('p', 'm', rec('r4'), 2, 60);
    const delta = await store.semanticRead('p', 'm', 3, 2);
    assert.deepEqual(
      delta.records.map((r) => r.key),
      ['r4'],
    );
    assert.equal(await store.clear('m'), 1);
    assert.equal((await store.semanticRead('p', 'm', 4, 2)).reset, true);
  });

  test('notes expire with their TTL, count in no stats, and go with a full clear', async () => {
    let now = 0;
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 1e9, now: () => now });
    await store.putNote('semantic-hit:r1', '{"k":"x"}', 60);
    assert.equal(await store.getNote('semantic-hit:r1'), '{"k":"x"}');
    assert.equal(await store.getNote('semantic-hit:other'), null);
    // A note counts against the byte bound (UTF-16 key and value, and a fixed overhead), not as an entry.
    const bytes = ('semantic-hit:r1'.length + '{"k":"x"}'.length) * 2 + 48;
    assert.deepEqual(await store.stats(), { backend: 'memory', entries: 0, bytes, semantic_records: 0 });
    now = 60_000;
    assert.equal(await store.getNote('semantic-hit:r1'), null, 'expired');
    await store.putNote('semantic-hit:r2', 'v', 60);
    assert.equal(await store.clear('m'), 0, 'a note belongs to no model');
    assert.equal(await store.clear(), 1);
    assert.equal(await store.getNote('semantic-hit:r2'), null);
  });
});

describe('memory cache store, order and bytes', () => {
  test('a hit keeps an entry from eviction under the byte bound; a replaced key is counted once', async () => {
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 3_000, now: () => 0 });
    const size = async () => (await store.stats()).bytes;
    await store.set('hot', entry('m', 'x'.repeat(400)), 60);
    const one = await size();
    for (let i = 0; i < 20; i++) {
      assert.ok(await store.get('hot'), `hot survives the ${i}th new key`);
      await store.set(`cold${i}`, entry('m', 'y'.repeat(400)), 60);
    }
    assert.ok(await store.get('hot'));
    assert.equal(await store.get('cold0'), null, 'the least recently used went first');
    // Replacing a key in place: its old bytes are no longer counted.
    await store.clear();
    await store.set('k', entry('m', 'x'.repeat(400)), 60);
    await store.set('k', entry('m', 'x'.repeat(400)), 60);
    assert.equal(await size(), one - 'hot'.length * 2 + 'k'.length * 2);
    // A replacement too large for the store removes the old value too.
    await store.set('k', entry('m', 'z'.repeat(4_000)), 60);
    assert.equal(await store.get('k'), null);
    assert.equal(await size(), 0);
  });
});
