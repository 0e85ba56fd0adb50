import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../config/load.js';

describe('cache configuration', () => {
  test('defaults: exact cache on (temperature 0 only), semantic off', () => {
    const { cache } = loadConfig({ env: {} });
    assert.equal(cache.enabled, true);
    assert.equal(cache.ttl_seconds, 3600);
    assert.equal(cache.max_temperature, 0);
    assert.equal(cache.semantic.enabled, false);
    assert.equal(cache.semantic.max_entries, 1000);
    assert.equal(cache.semantic.threshold, undefined, 'the guard module owns the default');
  });

  test('env names map onto cache.*', () => {
    const { cache } = loadConfig({
      env: {
        CACHE_ENABLED: 'false',
        CACHE_TTL_SECONDS: '60',
        CACHE_MAX_ENTRIES: '5',
        CACHE_MAX_BYTES: '4096',
        CACHE_MAX_TEMPERATURE: '0.3',
        ENABLE_SEMANTIC_CACHE: 'true',
        SEMANTIC_CACHE_THRESHOLD: '0.97',
        SEMANTIC_CACHE_MAX_ENTRIES: '50',
        SEMANTIC_CACHE_EMBEDDER: 'provider',
        SEMANTIC_CACHE_EMBEDDING_MODEL: 'all-minilm',
        SEMANTIC_CACHE_EMBEDDING_BASE_URL: 'http://127.0.0.1:11434/v1',
        SEMANTIC_CACHE_TIMEOUT_MS: '80',
        SEMANTIC_CACHE_EMBEDDING_WORKERS: '3',
        SEMANTIC_CACHE_EMBEDDING_QUEUE: '12',
        SEMANTIC_CACHE_MATCHER: 'guards',
        SEMANTIC_CACHE_MAX_FALSE_HIT_RATE: '0.02',
        SEMANTIC_CACHE_CANDIDATES: '8',
        SEMANTIC_CACHE_ANN_FROM: '500',
        SEMANTIC_CACHE_ANN_CONNECTIVITY: '24',
        SEMANTIC_CACHE_ANN_EXPANSION: '128',
      },
    });
    assert.deepEqual(
      { ...cache, semantic: { ...cache.semantic } },
      {
        ...cache,
        enabled: false,
        ttl_seconds: 60,
        max_entries: 5,
        max_bytes: 4096,
        max_temperature: 0.3,
        semantic: {
          enabled: true,
          threshold: 0.97,
          max_entries: 50,
          embedder: 'provider',
          embedding_model: 'all-minilm',
          embedding_base_url: 'http://127.0.0.1:11434/v1',
          timeout_ms: 80,
          embedding_workers: 3,
          embedding_queue: 12,
          matcher: 'guards',
          max_false_hit_rate: 0.02,
          candidates: 8,
          ann_from: 500,
          ann_connectivity: 24,
          ann_expansion: 128,
        },
      },
    );
  });

  test('bad values are reported with their env names', () => {
    assert.throws(
      () =>
        loadConfig({
          env: { SEMANTIC_CACHE_THRESHOLD: 'high', CACHE_TTL_SECONDS: '0', SEMANTIC_CACHE_EMBEDDER: 'magic' },
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(text, /cache\.semantic\.threshold \(from env SEMANTIC_CACHE_THRESHOLD\)/);
        assert.match(text, /cache\.ttl_seconds \(from env CACHE_TTL_SECONDS\)/);
        assert.match(text, /cache\.semantic\.embedder \(from env SEMANTIC_CACHE_EMBEDDER\)/);
        return true;
      },
    );
  });

  test('a false-hit bound outside the calibrated range is refused with its env name', () => {
    assert.throws(
      () =>
        loadConfig({ env: { SEMANTIC_CACHE_MAX_FALSE_HIT_RATE: '0.5', SEMANTIC_CACHE_MATCHER: 'cosine' } }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(
          text,
          /cache\.semantic\.max_false_hit_rate \(from env SEMANTIC_CACHE_MAX_FALSE_HIT_RATE\)/,
        );
        assert.match(text, /cache\.semantic\.matcher \(from env SEMANTIC_CACHE_MATCHER\)/);
        return true;
      },
    );
    const { cache } = loadConfig({ env: {} });
    assert.equal(cache.semantic.matcher, 'verifier');
    assert.equal(cache.semantic.max_false_hit_rate, 0.01);
  });
});
