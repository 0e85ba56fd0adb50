/**
 * The semantic layer (DESIGN §6): on an exact miss, the embedding of the last user message is compared with
 * the records of the request's partition (same model, parameters, embedder and surrounding conversation) by
 * a flat scan over L2-normalised Float32 vectors; the best candidates above the guard's threshold are
 * offered to the `MatchGuard`, which may still refuse them.
 *
 * Records live in the cache store (so every instance on the same Redis sees them); each instance keeps a
 * local copy per partition and fetches only the records appended since it last looked (a sequence number).
 */
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { SemanticQuery } from '../key.js';
import type { CacheStore, NowMs, SemanticRecord } from '../store.js';
import type { Embedder, MatchGuard } from './types.js';

export interface SemanticCacheOptions {
  /** Most recent records kept per partition (SEMANTIC_CACHE_MAX_ENTRIES). */
  maxEntries: number;
  /** Longest wait for an embedding on the request path. */
  timeoutMs: number;
  now: NowMs;
  /** Partitions whose records this instance keeps in memory (LRU). */
  maxLocalPartitions?: number;
}

export interface SemanticMatch {
  key: string;
  score: number;
  text: string;
}

interface LocalPartition {
  model: string;
  seq: number;
  records: SemanticRecord[];
}

/** How many of the best-scoring candidates the guard is asked about before giving up. */
const GUARD_CANDIDATES = 5;

export class SemanticCache {
  readonly embedder: Embedder;
  readonly guard: MatchGuard;
  readonly #store: CacheStore;
  readonly #options: Required<SemanticCacheOptions>;
  readonly #deps: { logger: Logger; metrics: Metrics };
  readonly #local = new Map<string, LocalPartition>();

  constructor(
    store: CacheStore,
    embedder: Embedder,
    guard: MatchGuard,
    options: SemanticCacheOptions,
    deps: { logger: Logger; metrics: Metrics },
  ) {
    this.#store = store;
    this.embedder = embedder;
    this.guard = guard;
    this.#options = { maxLocalPartitions: 256, ...options };
    this.#deps = deps;
  }

  /**
   * The embedding of `text`, or null when the embedder failed or did not answer within the bounded wait
   * (the request then goes on as an exact miss). The embedder counts its own durations and failures
   * (llm_embedding_generation_duration_seconds, llm_dependency_errors_total{dependency="embedder"}); the
   * wait given up here is counted here, as an embedder error too.
   */
  async embed(text: string, timeoutMs = this.#options.timeoutMs): Promise<Float32Array | null> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`embedding took longer than ${timeoutMs} ms`);
        this.#deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    });
    try {
      const call = this.embedder.embed([text], controller.signal);
      call.catch(() => undefined);
      const [vector] = await Promise.race([call, timeout]);
      return vector ?? null;
    } catch (err) {
      this.#deps.logger.debug(
        { event: 'cache.embedding_failed', error: err instanceof Error ? err.message : String(err) },
        'semantic cache: no embedding; exact cache only',
      );
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The best record of the partition the guard accepts for `query`, or null. */
  async lookup(query: SemanticQuery, model: string, vector: Float32Array): Promise<SemanticMatch | null> {
    const local = await this.#sync(query.partition, model);
    if (!local) return null;
    const now = this.#options.now();
    const threshold = this.guard.threshold;
    const candidates: Array<{ record: SemanticRecord; score: number }> = [];
    for (const record of local.records) {
      if (record.expiresAt <= now || record.vector.length !== vector.length) continue;
      const score = dot(vector, record.vector);
      if (score >= threshold) candidates.push({ record, score });
    }
    candidates.sort((a, b) => b.score - a.score);
    for (const { record, score } of candidates.slice(0, GUARD_CANDIDATES)) {
      if (this.guard.accept(query.text, record.text, score)) {
        return { key: record.key, score, text: record.text };
      }
    }
    return null;
  }

  /** Records that the answer stored under `key` answers `query` (off the response path). */
  async add(
    query: SemanticQuery,
    model: string,
    vector: Float32Array,
    key: string,
    ttlSeconds: number,
  ): Promise<void> {
    const record: SemanticRecord = {
      text: query.text,
      vector,
      key,
      expiresAt: this.#options.now() + ttlSeconds * 1000,
    };
    await this.#store.semanticAppend(query.partition, model, record, this.#options.maxEntries, ttlSeconds);
  }

  /** Drops this instance's copies (after an admin clear). */
  forget(model?: string): void {
    for (const [id, p] of this.#local) if (model === undefined || p.model === model) this.#local.delete(id);
  }

  /** Brings the local copy of a partition up to date with the store; null when the store failed. */
  async #sync(partition: string, model: string): Promise<LocalPartition | null> {
    let local = this.#local.get(partition);
    const delta = await this.#store.semanticRead(partition, model, local?.seq ?? 0, this.#options.maxEntries);
    if (!delta) return local ?? null;
    if (!local || delta.reset) {
      local = { model, seq: delta.seq, records: delta.records };
    } else if (delta.records.length > 0) {
      local.records = [...delta.records, ...local.records].slice(0, this.#options.maxEntries);
      local.seq = delta.seq;
    }
    // Most recently used last; the least recently used partition goes first.
    this.#local.delete(partition);
    if (local.seq > 0) this.#local.set(partition, local);
    while (this.#local.size > this.#options.maxLocalPartitions) {
      const oldest = this.#local.keys().next();
      if (oldest.done) break;
      this.#local.delete(oldest.value);
    }
    return local;
  }
}

/** Cosine similarity of two L2-normalised vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}
