/**
 * The response cache as a pipeline stage (DESIGN §6): for a cacheable chat request it looks up the exact
 * layer, then the semantic layer, then joins an identical request in flight (single-flight), and only then
 * calls the rest of the pipeline; a complete answer is stored off the response path, when the shared call
 * completes. Outcomes land in `ctx.cache` (status HIT | MISS | BYPASS, type exact | semantic) and in the
 * headers `X-Cache-Status` / `X-Cache-Type`. A hit answers with an outcome of source `cache` carrying the
 * cached usage, so accounting records cost 0 and the saved amount. A cache failure is a miss, not an error.
 */
import type { Clock } from '../core/clock.js';
import type { RequestContext } from '../core/context.js';
import { LiveList, type LiveNode } from '../core/live-list.js';
import {
  completionResult,
  type JsonResult,
  type OpenedStream,
  type Outcome,
  type Result,
  type StreamResult,
  streamResult,
} from '../core/result.js';
import type { Next, Stage } from '../core/stage.js';
import type { ChatCompletion, ChatRequest } from '../providers/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { withSpan } from '../telemetry/tracing.js';
import { type CacheDirectives, parseDirectives } from './directives.js';
import {
  type CacheEntry,
  completionFromChunks,
  completionFromEntry,
  entryFromCompletion,
  replay,
  servedBy,
} from './entry.js';
import { exactKey, nativeExactKey, notCacheableReason, type SemanticQuery, semanticQuery } from './key.js';
import { type CacheScope, cacheScopeId } from './scope.js';
import type { SemanticCache } from './semantic/semantic-cache.js';
import { CompletionFlight, FlightTable, StreamFlight } from './single-flight.js';
import type { CacheStore, NowMs } from './store.js';

export interface ResponseCacheOptions {
  ttlSeconds: number;
  maxTtlSeconds: number;
  maxTemperature: number;
  maxEntryBytes: number;
  singleFlight: boolean;
  /** Who shares entries, semantic matches and flights (scope.ts; the scope id is part of every key). */
  scope: CacheScope;
  /** Wall-clock epoch ms (entry timestamps). */
  now: NowMs;
  clock: Clock;
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
  /** `<model>:<sha256 of scope and request>`: the entry's key and the single-flight group. */
  key: string;
  directives: CacheDirectives;
  ttlSeconds: number;
  /** The semantic view, computed on first need (an exact hit never needs it); null = none. */
  semantic(): SemanticQuery | null;
  /** The query's embedding, once computed (reused for the semantic write). */
  vector: Float32Array | null;
}

type Hit = { entry: CacheEntry; type: 'exact' | 'semantic'; score?: number };

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
  /** Background writes in progress (awaited on close); a list, not a `Set` (decision 0191). */
  readonly #writes = new LiveList<Promise<void>>();

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

  /** The pipeline stage: chat requests go through the cache, embeddings pass. */
  stage(): Stage {
    return {
      name: 'cache',
      run: (ctx, next) => {
        const request = ctx.request;
        if (request?.kind !== 'chat') {
          // Embeddings are not cached: said as for any request that is not cacheable (not counted as one).
          Object.assign(ctx.responseHeaders, { 'x-cache-status': 'BYPASS', 'x-cache-type': 'MISS' });
          return next(ctx);
        }
        return request.stream
          ? this.#stream(next, ctx, request.body)
          : this.#complete(next, ctx, request.body);
      },
    };
  }

  /** Waits for background writes, at most `timeoutMs` (a write still embedding is given up). */
  async drain(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled(this.#writes.toArray()), limit]);
    clearTimeout(timer);
  }

  async #complete(next: Next, ctx: RequestContext, req: ChatRequest): Promise<Result> {
    const plan = this.#plan(ctx, req);
    if (!plan) return next(ctx);
    const found = await this.#fromCache(
      ctx,
      req,
      plan,
      this.#completions,
      (entry) => completionResult(completionFromEntry(entry), 'cache', servedBy(ctx, entry)),
      (f) => f.share(ctx),
      () => {
        const flight = new CompletionFlight(ctx, (f) => next(f) as Promise<JsonResult>);
        flight.result.then(
          (result) => {
            const entry = this.#entryOf(ctx, result.outcome, result.body as ChatCompletion);
            this.#background(this.#write(plan, entry), () => this.#completions.delete(plan.key, flight));
          },
          () => this.#completions.delete(plan.key, flight),
        );
        return flight;
      },
    );
    return 'value' in found ? found.value : found.led.lead(ctx);
  }

  async #stream(next: Next, ctx: RequestContext, req: ChatRequest): Promise<Result> {
    const plan = this.#plan(ctx, req);
    if (!plan) return next(ctx);
    const now = () => this.#options.clock.now();
    // The leader joins its flight at once: a stream that opens before it subscribed must find it there.
    let own: Promise<OpenedStream> | null = null;
    const found = await this.#fromCache(
      ctx,
      req,
      plan,
      this.#streams,
      (entry) => streamResult(replay(entry), 'cache', servedBy(ctx, entry), now),
      async (f) => streamResult(await f.follow(ctx), 'cache', f.ctx.upstream.deployment, now),
      () => {
        const flight = new StreamFlight(ctx, (f) => next(f) as Promise<StreamResult>);
        void flight.ended.then((complete) => {
          const completion = complete ? completionFromChunks(flight.allChunks()) : null;
          const opened = flight.opened;
          const entry = completion && opened ? this.#entryOf(ctx, opened.outcome, completion) : null;
          this.#background(this.#write(plan, entry), () => this.#streams.delete(plan.key, flight));
        });
        own = flight.subscribe(ctx);
        return flight;
      },
    );
    if ('value' in found) return found.value;
    const subscribed = own ?? found.led.subscribe(ctx);
    return found.led.lead(ctx, subscribed, (o) => streamResult(o, 'upstream', ctx.upstream.deployment, now));
  }

  /**
   * The answer without a new upstream call — a stored entry (exact, then semantic) or the identical request
   * already in flight (single-flight) — or, on a MISS, the flight this request leads (`lead`), registered in
   * the same turn as the miss check so an identical request arriving now joins it. A waiter's error is a
   * MISS; a waiter is charged nothing.
   */
  async #fromCache<T, F extends CompletionFlight | StreamFlight>(
    ctx: RequestContext,
    req: ChatRequest,
    plan: Plan,
    flights: FlightTable<F>,
    fromEntry: (entry: CacheEntry) => T,
    join: (flight: F) => Promise<T>,
    lead: () => F,
  ): Promise<{ value: T } | { led: F }> {
    if (plan.directives.bypass) return { led: lead() };
    const hit = await this.#lookup(ctx, req, plan);
    if (hit) {
      this.#serveHit(ctx, hit);
      return { value: fromEntry(hit.entry) };
    }
    const running = this.#options.singleFlight ? flights.get(plan.key) : undefined;
    if (!running) {
      this.#markMiss(ctx);
      const led = lead();
      if (this.#options.singleFlight) flights.set(plan.key, led);
      return { led };
    }
    this.#markCoalesced(ctx);
    try {
      return { value: await join(running) };
    } catch (err) {
      this.#markMiss(ctx);
      throw err;
    }
  }

  /** The cache plan of a request, or null (and BYPASS) when it is not cacheable. */
  #plan(ctx: RequestContext, req: ChatRequest): Plan | null {
    const directives = parseDirectives(ctx.headers, this.#options.maxTtlSeconds);
    // A request in another API's format is keyed on its own body; the semantic layer is for chat.
    const native = ctx.request?.kind === 'chat' ? ctx.request.native : undefined;
    if (notCacheableReason(req, this.#options.maxTemperature, native) !== null) {
      this.#markBypass(ctx);
      return null;
    }
    if (directives.bypass) this.#markBypass(ctx);
    const scope = cacheScopeId(ctx.principal, this.#options.scope);
    return {
      key: `${encodeURIComponent(req.model)}:${native ? nativeExactKey(native, scope) : exactKey(req, scope)}`,
      directives,
      ttlSeconds: directives.ttlSeconds ?? this.#options.ttlSeconds,
      semantic: lazy(() =>
        this.semantic && !native ? semanticQuery(req, this.semantic.embedder.id, scope) : null,
      ),
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
    const clock = this.#options.clock;
    const started = clock.now();
    try {
      const exact = await this.store.get(plan.key);
      metrics.cacheLookupDuration.observe({ cache_type: 'exact' }, (clock.now() - started) / 1000);
      if (exact) return { entry: exact, type: 'exact' };
      const query = plan.semantic();
      if (!this.semantic || !query) return null;
      const semanticStarted = clock.now();
      this.counters.semanticLookups++;
      plan.vector = await this.semantic.embed(query.text);
      let hit: Hit | null = null;
      if (plan.vector) {
        const match = await this.semantic.lookup(query, req.model, plan.vector);
        const entry = match ? await this.store.get(match.key) : null;
        if (entry && match) {
          hit = { entry, type: 'semantic', score: match.score };
          ctx.log.debug({ event: 'cache.semantic_hit', score: match.score }, 'semantic cache hit');
          if (this.semantic.notesHits) this.#background(this.semantic.noteHit(ctx, query, req.model, match));
        }
      }
      metrics.cacheLookupDuration.observe({ cache_type: 'semantic' }, (clock.now() - semanticStarted) / 1000);
      return hit;
    } finally {
      ctx.timings.cache += clock.now() - started;
    }
  }

  #serveHit(ctx: RequestContext, hit: Hit): void {
    const { type } = hit;
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
    // The verifier's score (the cosine with the rule-based guards) the semantic match was accepted on.
    if (hit.score !== undefined) ctx.responseHeaders['x-cache-score'] = hit.score.toFixed(4);
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

  #entryOf(ctx: RequestContext, outcome: Outcome, completion: ChatCompletion): CacheEntry | null {
    const d = outcome.deployment;
    if (!d) return null;
    return entryFromCompletion(completion, {
      model: ctx.request?.model ?? d.model,
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

  #background(write: Promise<void>, then: () => void = () => undefined): void {
    let node: LiveNode<Promise<void>> | undefined;
    const tracked = write
      .catch((err: unknown) => {
        this.#deps.logger.warn(
          { event: 'cache.write_failed', error: err instanceof Error ? err.message : String(err) },
          'cache write failed',
        );
      })
      .finally(() => {
        if (node) this.#writes.delete(node);
        then();
      });
    node = this.#writes.add(tracked);
  }
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
