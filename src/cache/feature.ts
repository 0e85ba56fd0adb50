/**
 * The cache as a gateway `Feature`: the `cache` stage, `GET /admin/cache/stats` and `DELETE /admin/cache`,
 * and the embedder closed on shutdown. Redis backend when the gateway has Redis, in-process LRU otherwise.
 */

import type { CacheConfig } from '../config/schema.js';
import { isoNow } from '../core/clock.js';
import type { AdminRoute, Feature } from '../core/feature.js';
import type { Stage } from '../core/stage.js';
import type { FeedbackService } from '../experiments/feedback.js';
import type { FeatureDeps } from '../stores/deps.js';
import type { Logger } from '../telemetry/logger.js';
import { MemoryCacheStore } from './memory-store.js';
import { RedisCacheStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';
import { createConfiguredEmbedder, createConfiguredGuard, type EmbedderDeps } from './semantic/parts.js';
import { SemanticCache } from './semantic/semantic-cache.js';
import type { Embedder, MatchGuard } from './semantic/types.js';
import type { CacheStore } from './store.js';

/** Parts a caller may supply instead of the configured ones (tests use a deterministic embedder). */
export interface CacheFeatureOptions {
  embedder?: Embedder;
  guard?: MatchGuard;
  store?: CacheStore;
}

/** Where stored feedback can be observed (the experiments' `FeedbackService`). */
export type FeedbackSource = Pick<FeedbackService, 'observe'>;

export interface CacheFeature extends Feature {
  readonly cache: ResponseCache;
  readonly stage: Stage;
  /**
   * Hands feedback on `cache.semantic.feedback_metric` to the semantic cache: `false` on a semantic hit
   * raises the score its entry needs (decision 0174). Nothing happens without the metric or semantic layer.
   */
  observeFeedback(source: FeedbackSource): void;
}

/**
 * Creates the cache feature, or null when `cache.enabled` is false.
 *
 * @example
 * const cache = createCacheFeature(config.cache, deps);
 * createPipeline({ cache: cache?.stage ?? null, … });
 */
export function createCacheFeature(
  settings: CacheConfig,
  deps: FeatureDeps & Omit<EmbedderDeps, 'logger' | 'metrics' | 'clock'>,
  options: CacheFeatureOptions = {},
): CacheFeature | null {
  const { logger, metrics, clock } = deps;
  if (!settings.enabled) return null;
  // Epoch milliseconds of the injected clock (TTL tests advance it instead of waiting).
  const now = () => clock.wallNow();
  const store =
    options.store ??
    (deps.redis
      ? new RedisCacheStore(
          deps.redis,
          {
            compressAboveBytes: settings.compress_above_bytes,
            maxEntryBytes: settings.max_entry_bytes,
            maxTtlSeconds: settings.max_ttl_seconds,
          },
          { logger, metrics },
        )
      : new MemoryCacheStore({ maxEntries: settings.max_entries, maxBytes: settings.max_bytes, now }));
  const semantic = settings.semantic.enabled ? createSemantic(settings, deps, store, options, now) : null;
  const cache = new ResponseCache(
    store,
    semantic,
    {
      ttlSeconds: settings.ttl_seconds,
      maxTtlSeconds: settings.max_ttl_seconds,
      maxTemperature: settings.max_temperature,
      maxEntryBytes: settings.max_entry_bytes,
      singleFlight: settings.single_flight,
      scope: settings.scope,
      now,
      clock,
    },
    { logger, metrics },
  );
  return {
    name: 'cache',
    cache,
    stage: cache.stage(),
    routes: cacheAdminRoutes(cache, deps, isoNow(clock), settings.semantic.feedback_metric),
    observeFeedback: (source) =>
      observeSemanticFeedback(semantic, settings.semantic.feedback_metric, source, logger),
    async ready() {
      try {
        await semantic?.embedder.ready?.();
      } catch (err) {
        logger.error(
          { event: 'cache.semantic_unavailable', error: err instanceof Error ? err.message : String(err) },
          'semantic cache: the embedding model could not be loaded; lookups are skipped',
        );
      }
    },
    async close() {
      await cache.drain();
      await semantic?.embedder.close?.();
    },
  };
}

function observeSemanticFeedback(
  semantic: SemanticCache | null,
  metric: string | undefined,
  source: FeedbackSource,
  logger: Logger,
): void {
  if (!semantic || metric === undefined) return;
  source.observe((f) => {
    if (f.metric !== metric) return;
    semantic.feedback(f.request_id, f.scope, f.value === 1).catch((err: unknown) => {
      logger.warn(
        { event: 'cache.feedback_failed', error: err instanceof Error ? err.message : String(err) },
        'semantic cache feedback not applied',
      );
    });
  });
}

function createSemantic(
  cacheSettings: CacheConfig,
  deps: FeatureDeps & Omit<EmbedderDeps, 'logger' | 'metrics' | 'clock'>,
  store: CacheStore,
  options: CacheFeatureOptions,
  now: () => number,
): SemanticCache | null {
  const settings = cacheSettings.semantic;
  let parts: { embedder: Embedder; guard: MatchGuard };
  try {
    const embedder = options.embedder ?? createConfiguredEmbedder(settings, deps);
    parts = { embedder, guard: options.guard ?? createConfiguredGuard(settings, embedder.id, deps.logger) };
  } catch (err) {
    // A misconfigured embedder must not stop the gateway: the exact cache still runs.
    deps.logger.error(
      { event: 'cache.semantic_unavailable', error: err instanceof Error ? err.message : String(err) },
      'semantic cache disabled: its embedder or matcher could not be created',
    );
    return null;
  }
  return new SemanticCache(
    store,
    parts.embedder,
    parts.guard,
    {
      maxEntries: settings.max_entries,
      timeoutMs: settings.timeout_ms,
      now,
      candidates: settings.candidates,
      feedbackTtlSeconds: cacheSettings.max_ttl_seconds,
      noteHits: settings.feedback_metric !== undefined,
      index: {
        annFrom: settings.ann_from,
        connectivity: settings.ann_connectivity,
        expansionSearch: settings.ann_expansion,
      },
    },
    { logger: deps.logger, metrics: deps.metrics },
  );
}

function rate(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0;
}

/**
 * The cache admin routes of a gateway whose cache is off (`CACHE_ENABLED=false`): the same paths answer,
 * saying so, instead of 404 — scripts and dashboards polling them keep working.
 */
export function disabledCacheFeature(): Feature {
  const model = {
    type: 'object',
    properties: { model: { type: 'string', minLength: 1, maxLength: 256 } },
    additionalProperties: false,
  };
  return {
    name: 'cache',
    routes: [
      {
        method: 'GET',
        url: '/admin/cache/stats',
        summary: 'Cache size and hit rates by layer',
        handler: async () => ({ enabled: false, backend: null, entries: 0, bytes: 0 }),
      },
      {
        method: 'DELETE',
        url: '/admin/cache',
        summary: 'Delete cached answers (all, or those of one requested model)',
        querystring: model,
        handler: async (request) => ({
          deleted: 0,
          model: (request.query.model as string | undefined) ?? null,
        }),
      },
    ],
  };
}

/** `GET /admin/cache/stats` and `DELETE /admin/cache[?model=…]` (admin key required under /admin/). */
function cacheAdminRoutes(
  cache: ResponseCache,
  deps: FeatureDeps,
  startedAt: string,
  feedbackMetric: string | undefined,
): AdminRoute[] {
  return [
    {
      method: 'GET',
      url: '/admin/cache/stats',
      summary: 'Cache size and hit rates by layer',
      async handler() {
        const stats = await cache.store.stats();
        const c = cache.counters;
        const hits = c.exactHits + c.semanticHits;
        const lookups = hits + c.misses;
        return {
          enabled: true,
          backend: stats.backend,
          entries: stats.entries,
          bytes: stats.bytes,
          semantic: {
            enabled: cache.semantic !== null,
            embedder: cache.semantic?.embedder.id ?? null,
            threshold: cache.semantic?.guard.threshold ?? null,
            matcher: cache.semantic?.guard.describe?.() ?? (cache.semantic ? { kind: 'guards' } : null),
            records: stats.semantic_records,
            // Feedback on semantic hits (decision 0174): this instance's counts since `since`.
            feedback: cache.semantic
              ? { metric: feedbackMetric ?? null, ...cache.semantic.feedbackCounts }
              : null,
          },
          // Counters of this instance since `since`; entries and bytes are the store's (shared with Redis).
          since: startedAt,
          lookups,
          hits: { exact: c.exactHits, semantic: c.semanticHits, total: hits },
          misses: c.misses,
          bypasses: c.bypasses,
          coalesced: c.coalesced,
          in_flight: cache.inFlight,
          hit_rate: {
            overall: rate(hits, lookups),
            exact: rate(c.exactHits, lookups),
            semantic: rate(c.semanticHits, c.semanticLookups),
          },
        };
      },
    },
    {
      method: 'DELETE',
      url: '/admin/cache',
      summary: 'Delete cached answers (all, or those of one requested model)',
      querystring: {
        type: 'object',
        properties: { model: { type: 'string', minLength: 1, maxLength: 256 } },
        additionalProperties: false,
      },
      async handler(request) {
        const model = request.query.model as string | undefined;
        const deleted = await cache.store.clear(model);
        cache.semantic?.forget(model);
        deps.logger.info({ event: 'cache.cleared', model: model ?? null, deleted }, 'cache cleared');
        return { deleted, model: model ?? null };
      },
    },
  ];
}
