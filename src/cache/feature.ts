/**
 * The cache as a gateway `Feature`: wraps the chat pipeline, serves `GET /admin/cache/stats` and
 * `DELETE /admin/cache`, and closes the embedder on shutdown. Redis backend when the gateway has Redis,
 * in-process LRU otherwise.
 */
import type { FastifyInstance } from 'fastify';
import type { Feature, GatewayServices } from '../gateway.js';
import { MemoryCacheStore } from './memory-store.js';
import { RedisCacheStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';
import { createConfiguredEmbedder, createConfiguredGuard } from './semantic/parts.js';
import { SemanticCache } from './semantic/semantic-cache.js';
import type { Embedder, MatchGuard } from './semantic/types.js';
import type { CacheStore } from './store.js';

/** Parts a caller may supply instead of the configured ones (tests use a deterministic embedder). */
export interface CacheFeatureOptions {
  embedder?: Embedder;
  guard?: MatchGuard;
  store?: CacheStore;
}

/**
 * Creates the cache feature, or null when `cache.enabled` is false.
 *
 * @example
 * const cache = createCacheFeature(services);
 * if (cache) features.push(cache);
 */
export function createCacheFeature(
  services: GatewayServices,
  options: CacheFeatureOptions = {},
): (Feature & { cache: ResponseCache }) | null {
  const { config, logger, metrics } = services;
  const settings = config.cache;
  if (!settings.enabled) return null;
  // Epoch milliseconds that move with the injected clock (TTL tests advance it instead of waiting).
  const epochBase = Date.now() - services.clock.now();
  const now = () => epochBase + services.clock.now();
  const store =
    options.store ??
    (services.redis
      ? new RedisCacheStore(
          services.redis,
          { compressAboveBytes: settings.compress_above_bytes },
          { logger, metrics },
        )
      : new MemoryCacheStore({ maxEntries: settings.max_entries, maxBytes: settings.max_bytes, now }));
  const semantic = settings.semantic.enabled ? createSemantic(services, store, options, now) : null;
  const cache = new ResponseCache(
    store,
    semantic,
    {
      ttlSeconds: settings.ttl_seconds,
      maxTtlSeconds: settings.max_ttl_seconds,
      maxTemperature: settings.max_temperature,
      maxEntryBytes: settings.max_entry_bytes,
      singleFlight: settings.single_flight,
      now,
    },
    { logger, metrics },
  );
  return {
    name: 'cache',
    cache,
    wrapPipeline: (inner) => cache.wrap(inner),
    routes(app: FastifyInstance) {
      registerCacheAdminRoutes(app, cache, services);
    },
    async close() {
      await cache.drain();
      await semantic?.embedder.close?.();
    },
  };
}

function createSemantic(
  services: GatewayServices,
  store: CacheStore,
  options: CacheFeatureOptions,
  now: () => number,
): SemanticCache | null {
  const settings = services.config.cache.semantic;
  let parts: { embedder: Embedder; guard: MatchGuard };
  try {
    parts = {
      embedder: options.embedder ?? createConfiguredEmbedder(services),
      guard: options.guard ?? createConfiguredGuard(services),
    };
  } catch (err) {
    // A misconfigured embedder must not stop the gateway: the exact cache still runs.
    services.logger.error(
      { event: 'cache.semantic_unavailable', error: err instanceof Error ? err.message : String(err) },
      'semantic cache disabled: its embedder could not be created',
    );
    return null;
  }
  return new SemanticCache(
    store,
    parts.embedder,
    parts.guard,
    { maxEntries: settings.max_entries, timeoutMs: settings.timeout_ms, now },
    { logger: services.logger, metrics: services.metrics },
  );
}

function rate(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : 0;
}

/** `GET /admin/cache/stats` and `DELETE /admin/cache[?model=…]` (admin key required under /admin/). */
function registerCacheAdminRoutes(
  app: FastifyInstance,
  cache: ResponseCache,
  services: GatewayServices,
): void {
  const startedAt = new Date().toISOString();
  app.get(
    '/admin/cache/stats',
    { schema: { summary: 'Cache size and hit rates by layer', tags: ['Admin'] } },
    async () => {
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
          records: stats.semantic_records,
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
  );
  app.delete<{ Querystring: { model?: string } }>(
    '/admin/cache',
    {
      schema: {
        summary: 'Delete cached answers (all, or those of one requested model)',
        tags: ['Admin'],
        querystring: {
          type: 'object',
          properties: { model: { type: 'string', minLength: 1 } },
          additionalProperties: false,
        },
      },
    },
    async (request) => {
      const model = request.query.model;
      const deleted = await cache.store.clear(model);
      cache.semantic?.forget(model);
      services.logger.info({ event: 'cache.cleared', model: model ?? null, deleted }, 'cache cleared');
      return { deleted, model: model ?? null };
    },
  );
}
