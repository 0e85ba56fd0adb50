/**
 * The semantic layer (DESIGN §6): on an exact miss, the embedding of the last user message is compared with
 * the records of the request's partition (same model, parameters, embedder and surrounding conversation):
 * the top `candidates` by cosine above the matcher's cut-off (a flat scan, or an HNSW graph for large
 * partitions: vector-index.ts) are offered best first to the `MatchGuard` — the calibrated verifier by
 * default — and the first it accepts is served.
 *
 * Records live in the cache store (so every instance on the same Redis sees them); each instance mirrors a
 * partition in a `PartitionIndex` and appends only the records added since it last looked (a sequence
 * number), on every lookup: an entry this instance wrote is searchable by its next request.
 */
import { type Principal, principalScope } from '../../auth/principal.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import type { SemanticQuery } from '../key.js';
import type { CacheStore, NowMs, SemanticRecord } from '../store.js';
import type { Embedder, MatchGuard } from './types.js';
import { type IndexOptions, PartitionIndex } from './vector-index.js';

export interface SemanticCacheOptions {
  /** Most recent records kept per partition (SEMANTIC_CACHE_MAX_ENTRIES). */
  maxEntries: number;
  /** Longest wait for an embedding on the request path. */
  timeoutMs: number;
  now: NowMs;
  /** Partitions whose records this instance keeps in memory (LRU). */
  maxLocalPartitions?: number;
  /** How many of the best candidates by cosine the matcher is asked about (default 5). */
  candidates?: number;
  /** The vector index's settings (graph from `annFrom` records on). */
  index?: Omit<IndexOptions, 'maxEntries'>;
  /**
   * How long a semantic hit can still receive feedback, and how long a score bar raised by feedback lasts
   * (decision 0174; the cache's longest TTL, so a bar outlives the entry it guards). Default 24 h.
   */
  feedbackTtlSeconds?: number;
  /** Note which entry answered each semantic hit (cache.semantic.feedback_metric is set; decision 0174). */
  noteHits?: boolean;
}

export interface SemanticMatch {
  key: string;
  /** The matcher's score (the verifier's probability; the cosine for the rule-based guards). */
  score: number;
  cosine: number;
  text: string;
}

export type FeedbackOutcome = 'contradicted' | 'confirmed' | 'unmatched';

/** What `noteHit` keeps per semantic hit: owner, partition, model, entry key, score. */
interface HitNote {
  o: string;
  p: string;
  m: string;
  k: string;
  s: number;
}

function hitNoteKey(requestId: string): string {
  return `semantic-hit:${requestId}`;
}

function parseHitNote(raw: string): HitNote | null {
  try {
    const n = JSON.parse(raw) as Partial<HitNote>;
    return typeof n.o === 'string' &&
      typeof n.p === 'string' &&
      typeof n.m === 'string' &&
      typeof n.k === 'string' &&
      typeof n.s === 'number'
      ? (n as HitNote)
      : null;
  } catch {
    return null;
  }
}

interface LocalPartition {
  model: string;
  seq: number;
  index: PartitionIndex;
}

const DEFAULT_CANDIDATES = 5;

export class SemanticCache {
  readonly embedder: Embedder;
  readonly guard: MatchGuard;
  readonly #store: CacheStore;
  readonly #options: Required<SemanticCacheOptions>;
  readonly #deps: { logger: Logger; metrics: Metrics };
  readonly #local = new Map<string, LocalPartition>();
  /** Feedback on semantic hits and the matches bars refused, on this instance (decision 0174). */
  readonly feedbackCounts: Record<FeedbackOutcome | 'vetoed', number> = {
    contradicted: 0,
    confirmed: 0,
    unmatched: 0,
    vetoed: 0,
  };

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
    this.#options = {
      maxLocalPartitions: 256,
      candidates: DEFAULT_CANDIDATES,
      index: {},
      feedbackTtlSeconds: 86_400,
      noteHits: false,
      ...options,
    };
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
    const local = await this.#sync(query.partition, model, vector.length);
    if (!local) return null;
    const now = this.#options.now();
    const candidates = local.index.search(vector, this.#options.candidates, this.guard.threshold, now);
    for (const { record, score: cosine, vector: cached } of candidates) {
      // The matcher may score the two vectors too (the verifier's pair model); the index keeps them for it.
      const vectors = cached ? { query: vector, cached } : undefined;
      const verdict = this.guard.judge
        ? this.guard.judge(query.text, record.text, cosine, vectors)
        : { accepted: this.guard.accept(query.text, record.text, cosine, vectors), score: cosine };
      if (!verdict.accepted) continue;
      // A match to this entry was reported wrong at this score or above it (decision 0174).
      if (!(verdict.score > local.index.barOf(record.key))) {
        this.#deps.metrics.semanticVetoed.inc();
        this.feedbackCounts.vetoed++;
        continue;
      }
      return { key: record.key, score: verdict.score, cosine, text: record.text };
    }
    return null;
  }

  /** Whether semantic hits are noted for feedback (a feedback metric is set): callers skip `noteHit` otherwise. */
  get notesHits(): boolean {
    return this.#options.noteHits;
  }

  /**
   * Notes which entry answered a request (a semantic hit), so feedback on that request can reach
   * the entry (`feedback`); only the same caller's feedback counts. Only with `noteHits` (a feedback metric).
   */
  async noteHit(
    request: { requestId: string; principal: Pick<Principal, 'keyId' | 'lineageId' | 'userId'> | null },
    query: SemanticQuery,
    model: string,
    match: SemanticMatch,
  ): Promise<void> {
    const { requestId, principal } = request;
    if (!this.#options.noteHits || !principal) return;
    const owner = principalScope(principal);
    const note: HitNote = { o: owner, p: query.partition, m: model, k: match.key, s: match.score };
    await this.#store.putNote(hitNoteKey(requestId), JSON.stringify(note), this.#options.feedbackTtlSeconds);
  }

  /**
   * Feedback on request `requestId` from the caller `owner` (decision 0174). Reported wrong: the entry that
   * answered it needs a score above the one it was served at, on every instance (an adjustment record in
   * the partition). Reported right: counted only. Anything else (no semantic hit noted, another caller's
   * request, store down) changes nothing.
   */
  async feedback(requestId: string, owner: string, correct: boolean): Promise<FeedbackOutcome> {
    const outcome = await this.#applyFeedback(requestId, owner, correct);
    this.#deps.metrics.semanticFeedback.inc({ outcome });
    this.feedbackCounts[outcome]++;
    return outcome;
  }

  async #applyFeedback(requestId: string, owner: string, correct: boolean): Promise<FeedbackOutcome> {
    const raw = await this.#store.getNote(hitNoteKey(requestId));
    const note = raw === null ? null : parseHitNote(raw);
    if (!note || note.o !== owner) return 'unmatched';
    if (correct) return 'confirmed';
    const ttl = this.#options.feedbackTtlSeconds;
    const adjustment: SemanticRecord = {
      text: '',
      vector: new Float32Array(0),
      key: note.k,
      expiresAt: this.#options.now() + ttl * 1000,
      minScore: note.s,
    };
    await this.#store.semanticAppend(note.p, note.m, adjustment, this.#options.maxEntries, ttl);
    this.#deps.logger.info(
      { event: 'cache.semantic_contradicted', request_id: requestId, score: note.s },
      'semantic hit reported wrong: its entry now needs a higher score',
    );
    return 'contradicted';
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
  async #sync(partition: string, model: string, dimensions: number): Promise<LocalPartition | null> {
    let local = this.#local.get(partition);
    // Vectors of another size (an embedder whose size was learnt late): read the partition again from the start.
    if (local && local.index.dimensions !== dimensions) local = undefined;
    const delta = await this.#store.semanticRead(partition, model, local?.seq ?? 0, this.#options.maxEntries);
    if (!delta) return local ?? null;
    if (!local || delta.reset) {
      const index = new PartitionIndex(dimensions, {
        ...this.#options.index,
        maxEntries: this.#options.maxEntries,
        keepVectors: this.guard.needsVectors === true,
      });
      local = { model, seq: delta.seq, index };
    }
    if (delta.records.length > 0) {
      // The store lists the newest first; the index evicts in insertion order, so the oldest go in first.
      local.index.add(delta.records.slice().reverse());
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
