/**
 * The response cache as a `ChatPipeline` wrapper (DESIGN §6): for a cacheable chat request it looks up the
 * exact layer, then the semantic layer, then joins an identical request in flight (single-flight), and only
 * then calls the inner pipeline; a complete answer is stored off the response path.
 *
 * Outcomes land in `ctx.cache` (status HIT | MISS | BYPASS, type exact | semantic) and in the headers
 * `X-Cache-Status` / `X-Cache-Type`. A hit sets `ctx.usage` to the cached usage and `ctx.costUsd` to 0, so
 * accounting records cost 0 and the saved amount. A cache failure is a miss, never an error.
 */
import type { ChatPipeline } from '../pipeline/chat.js';
import type { OpenedStream, RequestContext } from '../pipeline/context.js';
import type { ChatCompletion, ChatRequest } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { withSpan } from '../telemetry/tracing.js';
import { type CacheDirectives, parseDirectives } from './directives.js';
import {
  type CacheEntry,
  chunksFromEntry,
  completionFromChunks,
  completionFromEntry,
  entryFromCompletion,
} from './entry.js';
import { exactKey, notCacheableReason, type SemanticQuery, semanticQuery } from './key.js';
import type { SemanticCache } from './semantic/semantic-cache.js';
import { adoptUpstream, CompletionFlight, FlightTable, StreamFlight } from './single-flight.js';
import type { CacheStore, NowMs } from './store.js';

export interface ResponseCacheOptions {
  ttlSeconds: number;
  maxTtlSeconds: number;
  maxTemperature: number;
  maxEntryBytes: number;
  singleFlight: boolean;
  now: NowMs;
}

/** Counters since start, for /admin/cache/stats. */
export interface CacheCounters {
  exactHits: number;
  semanticHits: number;
  coalesced: number;
  misses: number;
  bypasses: number;
  semanticLookups: number;
}

interface Plan {
  /** `<model>:<sha256>`. */
  key: string;
  directives: CacheDirectives;
  ttlSeconds: number;
  /** The semantic view, computed on first need (an exact hit never needs it); null = none. */
  semantic(): SemanticQuery | null;
  /** The query's embedding, once computed (reused for the semantic write). */
  vector: Float32Array | null;
}

type Hit = { entry: CacheEntry; type: 'exact' | 'semantic' };

/** Embeddings for the semantic write happen off the response path and may take longer. */
const BACKGROUND_EMBED_TIMEOUT_MS = 10_000;

export class ResponseCache {
  readonly counters: CacheCounters = {
    exactHits: 0,
    semanticHits: 0,
    coalesced: 0,
    misses: 0,
    bypasses: 0,
    semanticLookups: 0,
  };
  readonly store: CacheStore;
  readonly semantic: SemanticCache | null;
  readonly #options: ResponseCacheOptions;
  readonly #deps: { logger: Logger; metrics: Metrics };
  readonly #completions = new FlightTable<CompletionFlight>();
  readonly #streams = new FlightTable<StreamFlight>();
  /** Background writes in progress (awaited on close). */
  readonly #writes = new Set<Promise<void>>();

  constructor(
    store: CacheStore,
    semantic: SemanticCache | null,
    options: ResponseCacheOptions,
    deps: { logger: Logger; metrics: Metrics },
  ) {
    this.store = store;
    this.semantic = semantic;
    this.#options = options;
    this.#deps = deps;
  }

  get inFlight(): number {
    return this.#completions.size + this.#streams.size;
  }

  /** Wraps a pipeline: completions and streams go through the cache, embeddings pass. */
  wrap(inner: ChatPipeline): ChatPipeline {
    return {
      complete: (ctx, req) => this.#complete(inner, ctx, req),
      openStream: (ctx, req) => this.#openStream(inner, ctx, req),
      embed: (ctx, req) => inner.embed(ctx, req),
    };
  }

  /** Waits for background writes, at most `timeoutMs` (a write still embedding is given up). */
  async drain(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.#writes]), limit]);
    clearTimeout(timer);
  }

  async #complete(inner: ChatPipeline, ctx: RequestContext, req: ChatRequest): Promise<ChatCompletion> {
    const plan = this.#plan(ctx, req);
    if (!plan) return inner.complete(ctx, req);
    const cached = await this.#fromCache(ctx, req, plan, this.#completions, completionFromEntry, (f) =>
      f.wait(ctx),
    );
    if (cached) return cached.value;
    const flight = new CompletionFlight(ctx, (f) => inner.complete(f, req));
    const register = this.#options.singleFlight && !plan.directives.bypass;
    if (register) this.#completions.set(plan.key, flight);
    flight.result.then(
      (completion) => {
        const entry = this.#entryOf(ctx, flight.ctx, completion);
        this.#background(this.#write(plan, entry), () => this.#completions.delete(plan.key, flight));
      },
      () => this.#completions.delete(plan.key, flight),
    );
    try {
      return await flight.wait(ctx);
    } finally {
      adoptUpstream(ctx, flight.ctx, true);
    }
  }

  async #openStream(inner: ChatPipeline, ctx: RequestContext, req: ChatRequest): Promise<OpenedStream> {
    const plan = this.#plan(ctx, req);
    if (!plan) return inner.openStream(ctx, req);
    const cached = await this.#fromCache(ctx, req, plan, this.#streams, replay, (f) => f.subscribe(ctx));
    if (cached) return cached.value;
    const flight = new StreamFlight(ctx, (f) => inner.openStream(f, req));
    const register = this.#options.singleFlight && !plan.directives.bypass;
    if (register) this.#streams.set(plan.key, flight);
    void flight.ended.then((complete) => {
      const completion = complete ? completionFromChunks(flight.allChunks()) : null;
      const entry = completion ? this.#entryOf(ctx, flight.ctx, completion) : null;
      this.#background(this.#write(plan, entry), () => this.#streams.delete(plan.key, flight));
    });
    try {
      return await flight.subscribe(ctx);
    } finally {
      adoptUpstream(ctx, flight.ctx, true);
    }
  }

  /**
   * The answer without a new upstream call, or null (a MISS: the caller makes the call): a stored entry
   * (exact, then semantic), or the identical request already in flight (single-flight). A waiter's error
   * is a MISS; a waiter is charged nothing.
   */
  async #fromCache<T, F extends CompletionFlight | StreamFlight>(
    ctx: RequestContext,
    req: ChatRequest,
    plan: Plan,
    flights: FlightTable<F>,
    fromEntry: (entry: CacheEntry) => T,
    join: (flight: F) => Promise<T>,
  ): Promise<{ value: T } | null> {
    if (plan.directives.bypass) return null;
    const hit = await this.#lookup(ctx, req, plan);
    if (hit) {
      this.#serveHit(ctx, hit);
      return { value: fromEntry(hit.entry) };
    }
    const running = this.#options.singleFlight ? flights.get(plan.key) : undefined;
    if (!running) {
      this.#markMiss(ctx);
      return null;
    }
    this.#markCoalesced(ctx);
    try {
      return { value: await join(running) };
    } catch (err) {
      this.#markMiss(ctx);
      throw err;
    } finally {
      adoptUpstream(ctx, running.ctx, false);
      ctx.costUsd = 0;
    }
  }

  /** The cache plan of a request, or null (and BYPASS) when it is not cacheable. */
  #plan(ctx: RequestContext, req: ChatRequest): Plan | null {
    const directives = parseDirectives(ctx.requestHeaders, this.#options.maxTtlSeconds);
    if (notCacheableReason(req, this.#options.maxTemperature) !== null) {
      this.#markBypass(ctx);
      return null;
    }
    if (directives.bypass) this.#markBypass(ctx);
    return {
      key: `${encodeURIComponent(req.model)}:${exactKey(req)}`,
      directives,
      ttlSeconds: directives.ttlSeconds ?? this.#options.ttlSeconds,
      semantic: lazy(() => (this.semantic ? semanticQuery(req, this.semantic.embedder.id) : null)),
      vector: null,
    };
  }

  /** Exact, then semantic lookup, in a `cache.lookup` span (attributes: the outcome). */
  #lookup(ctx: RequestContext, req: ChatRequest, plan: Plan): Promise<Hit | null> {
    return withSpan(ctx, 'cache.lookup', async (span) => {
      const hit = await this.#lookupLayers(ctx, req, plan);
      span.setAttributes({ 'gateway.cache.hit': hit !== null, 'gateway.cache.type': hit?.type ?? 'miss' });
      return hit;
    });
  }

  async #lookupLayers(ctx: RequestContext, req: ChatRequest, plan: Plan): Promise<Hit | null> {
    const { metrics } = this.#deps;
    const started = performance.now();
    try {
      const exact = await this.store.get(plan.key);
      metrics.cacheLookupDuration.observe({ cache_type: 'exact' }, (performance.now() - started) / 1000);
      if (exact) return { entry: exact, type: 'exact' };
      const query = plan.semantic();
      if (!this.semantic || !query) return null;
      const semanticStarted = performance.now();
      this.counters.semanticLookups++;
      plan.vector = await this.semantic.embed(query.text);
      let hit: Hit | null = null;
      if (plan.vector) {
        const match = await this.semantic.lookup(query, req.model, plan.vector);
        const entry = match ? await this.store.get(match.key) : null;
        if (entry && match) {
          hit = { entry, type: 'semantic' };
          ctx.log.debug({ event: 'cache.semantic_hit', score: match.score }, 'semantic cache hit');
        }
      }
      metrics.cacheLookupDuration.observe(
        { cache_type: 'semantic' },
        (performance.now() - semanticStarted) / 1000,
      );
      return hit;
    } finally {
      ctx.timings.cache += performance.now() - started;
    }
  }

  #serveHit(ctx: RequestContext, hit: Hit): void {
    const { entry, type } = hit;
    if (type === 'exact') this.counters.exactHits++;
    else {
      this.counters.semanticHits++;
      this.#deps.metrics.semanticCacheHits.inc();
    }
    this.#deps.metrics.cacheHits.inc({ cache_type: type });
    this.#updateHitRate();
    ctx.cache.status = 'HIT';
    ctx.cache.type = type;
    ctx.responseHeaders['x-cache-status'] = 'HIT';
    ctx.responseHeaders['x-cache-type'] = type === 'exact' ? 'EXACT' : 'SEMANTIC';
    ctx.usage = entry.usage ? { ...entry.usage } : null;
    ctx.costUsd = 0;
    ctx.servedModel = entry.served_model;
    ctx.finishReason = entry.choices[0]?.finish_reason ?? null;
    ctx.deployment = servedBy(ctx, entry);
  }

  /** A request that waits for an identical one in flight: answered without an upstream call of its own. */
  #markCoalesced(ctx: RequestContext): void {
    this.counters.coalesced++;
    this.#deps.metrics.cacheCoalesced.inc();
    ctx.cache.status = 'HIT';
    ctx.cache.type = 'exact';
    ctx.responseHeaders['x-cache-status'] = 'HIT';
    ctx.responseHeaders['x-cache-type'] = 'EXACT';
    ctx.responseHeaders['x-cache-coalesced'] = 'true';
  }

  #markMiss(ctx: RequestContext): void {
    this.counters.misses++;
    this.#deps.metrics.cacheMisses.inc();
    this.#updateHitRate();
    ctx.cache.status = 'MISS';
    ctx.cache.type = null;
    ctx.responseHeaders['x-cache-status'] = 'MISS';
    ctx.responseHeaders['x-cache-type'] = 'MISS';
    delete ctx.responseHeaders['x-cache-coalesced'];
  }

  #markBypass(ctx: RequestContext): void {
    this.counters.bypasses++;
    ctx.cache.status = 'BYPASS';
    ctx.cache.type = null;
    ctx.responseHeaders['x-cache-status'] = 'BYPASS';
    ctx.responseHeaders['x-cache-type'] = 'MISS';
  }

  #updateHitRate(): void {
    const c = this.counters;
    const hits = c.exactHits + c.semanticHits;
    const total = hits + c.misses;
    if (total > 0) this.#deps.metrics.cacheHitRate.set(hits / total);
  }

  #entryOf(ctx: RequestContext, flight: RequestContext, completion: ChatCompletion): CacheEntry | null {
    const d = flight.deployment;
    if (!d) return null;
    return entryFromCompletion(completion, {
      model: ctx.model ?? d.model,
      provider: d.provider,
      deploymentModel: d.model,
      now: this.#options.now(),
    });
  }

  /** Stores an answer (and its semantic record) unless the client said no-store. */
  async #write(plan: Plan, entry: CacheEntry | null): Promise<void> {
    if (!entry || plan.directives.noStore) return;
    if (Buffer.byteLength(JSON.stringify(entry)) > this.#options.maxEntryBytes) return;
    await this.store.set(plan.key, entry, plan.ttlSeconds);
    const query = plan.semantic();
    if (!this.semantic || !query) return;
    const vector = plan.vector ?? (await this.semantic.embed(query.text, BACKGROUND_EMBED_TIMEOUT_MS));
    if (vector) await this.semantic.add(query, entry.model, vector, plan.key, plan.ttlSeconds);
  }

  #background(write: Promise<void>, then: () => void): void {
    const tracked = write
      .catch((err: unknown) => {
        this.#deps.logger.warn(
          { event: 'cache.write_failed', error: err instanceof Error ? err.message : String(err) },
          'cache write failed',
        );
      })
      .finally(() => {
        this.#writes.delete(tracked);
        then();
      });
    this.#writes.add(tracked);
  }
}

/** The deployment of the route that served the cached answer (for X-Provider), else the route's first. */
function servedBy(ctx: RequestContext, entry: CacheEntry): Deployment | null {
  const deployments = ctx.route?.deployments ?? [];
  return (
    deployments.find((d) => d.provider === entry.provider && d.model === entry.deployment_model) ??
    deployments[0] ??
    null
  );
}

function lazy<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = make();
      done = true;
    }
    return value;
  };
}

/** A cached answer as an opened stream (nothing to close upstream). */
function replay(entry: CacheEntry): OpenedStream {
  const chunks = chunksFromEntry(entry);
  const head = chunks.slice(0, 1);
  const rest = chunks.slice(1)[Symbol.iterator]();
  return {
    head,
    rest: {
      next: async () => rest.next(),
    },
    close: () => undefined,
  };
}
