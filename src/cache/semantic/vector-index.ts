/**
 * The per-instance vector index of one semantic partition (DESIGN §6, decision 0117). Records live in the
 * cache store (shared by every instance); each instance mirrors a partition here, appending the records the
 * store reports as new since it last looked, so an entry written on this instance is found by its next
 * lookup and one written elsewhere by the next lookup after it reached the store.
 *
 * - Up to `annFrom` records: a flat scan over the Float32 vectors (exact, and faster than a graph at that size).
 * - From `annFrom` on: an HNSW graph (usearch, cosine metric) holds the vectors; the records keep only text,
 *   key and expiry. Search asks the graph for more than `k` neighbours, drops expired ones and rescoring is
 *   the graph's own distance (1 − cosine).
 * - At most `maxEntries` records: the oldest go first (the store keeps the same newest ones).
 *
 * @example
 * const index = new PartitionIndex(512, { maxEntries: 100_000, annFrom: 2048 });
 * index.add([record]);
 * index.search(vector, 5, 0.8, now); // [{ record, score }] best first
 */
import { Index } from 'usearch';
import { dot } from './embedders.js';

export interface IndexRecord {
  text: string;
  key: string;
  expiresAt: number;
  /** Set on an adjustment (decision 0174): the entry `key` now needs a score above it. Never searched. */
  minScore?: number;
}

export interface IndexOptions {
  maxEntries: number;
  /** Size from which the partition is searched through the graph instead of a flat scan. */
  annFrom?: number;
  /** HNSW edges per node (usearch `connectivity`). */
  connectivity?: number;
  /** Candidate list size while searching (usearch `expansion_search`); higher = better recall, slower. */
  expansionSearch?: number;
  /** Candidate list size while adding (usearch `expansion_add`). */
  expansionAdd?: number;
  /**
   * Keep each record's vector in graph mode too (the graph's copy cannot be read back), for a matcher that
   * scores the two vectors (the verifier's pair model): 4 bytes per dimension more per record.
   */
  keepVectors?: boolean;
}

export interface IndexHit {
  record: IndexRecord;
  score: number;
  /** The record's vector (flat mode, or graph mode with `keepVectors`). */
  vector?: Float32Array;
}

export const DEFAULT_ANN_FROM = 2048;
export const DEFAULT_CONNECTIVITY = 16;
export const DEFAULT_EXPANSION_SEARCH = 64;
export const DEFAULT_EXPANSION_ADD = 64;

export class PartitionIndex {
  readonly dimensions: number;
  readonly #options: Required<IndexOptions>;
  readonly #records = new Map<bigint, IndexRecord>();
  /** Flat-mode vectors (dropped once the graph holds them, unless `keepVectors`). */
  #vectors: Map<bigint, Float32Array> | null = new Map();
  #graph: Index | null = null;
  /** Ids in insertion order; `#head` is the oldest still present (or already removed). */
  readonly #order: bigint[] = [];
  #head = 0;
  #nextId = 1n;
  /** Entry key → the score a match must exceed (raised by adjustments; decision 0174). */
  readonly #bars = new Map<string, number>();

  constructor(dimensions: number, options: IndexOptions) {
    this.dimensions = dimensions;
    this.#options = {
      annFrom: DEFAULT_ANN_FROM,
      connectivity: DEFAULT_CONNECTIVITY,
      expansionSearch: DEFAULT_EXPANSION_SEARCH,
      expansionAdd: DEFAULT_EXPANSION_ADD,
      keepVectors: false,
      ...options,
    };
  }

  get size(): number {
    return this.#records.size;
  }

  /** True once the partition is searched through the HNSW graph. */
  get approximate(): boolean {
    return this.#graph !== null;
  }

  /**
   * The score a match to the entry `key` must exceed (−∞ unless a served match to it was reported wrong).
   */
  barOf(key: string): number {
    return this.#bars.get(key) ?? Number.NEGATIVE_INFINITY;
  }

  /** Adds records, oldest first (vectors of another length are skipped; adjustments raise a bar). */
  add(records: readonly (IndexRecord & { vector: Float32Array })[]): void {
    const ids: bigint[] = [];
    const vectors: Float32Array[] = [];
    for (const r of records) {
      if (r.minScore !== undefined) {
        this.#raiseBar(r.key, r.minScore);
        continue;
      }
      if (r.vector.length !== this.dimensions) continue;
      const id = this.#nextId++;
      this.#records.set(id, { text: r.text, key: r.key, expiresAt: r.expiresAt });
      this.#order.push(id);
      if (this.#graph) {
        ids.push(id);
        vectors.push(r.vector);
      }
      this.#vectors?.set(id, r.vector);
    }
    if (this.#graph && ids.length > 0) this.#insert(this.#graph, ids, vectors);
    while (this.#records.size > this.#options.maxEntries) this.#removeOldest();
    if (!this.#graph && this.#records.size >= this.#options.annFrom) this.#buildGraph();
    // Keep the order array from growing without bound once most of it is behind the head.
    if (this.#head > 4096 && this.#head > this.#order.length / 2) {
      this.#order.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** The best `k` live records with a cosine of at least `minScore`, best first. */
  search(vector: Float32Array, k: number, minScore: number, now: number): IndexHit[] {
    if (vector.length !== this.dimensions || this.#records.size === 0) return [];
    const hits: IndexHit[] = [];
    if (!this.#graph) {
      for (const [id, v] of this.#vectors!) {
        const record = this.#records.get(id)!;
        if (record.expiresAt <= now) continue;
        const score = dot(vector, v);
        if (score >= minScore) hits.push({ record, score, vector: v });
      }
    } else {
      // Expired records still in the graph take places in the answer: ask for a few more.
      const wanted = Math.min(k + 16, this.#records.size);
      const found = this.#graph.search(vector, wanted, 1);
      for (let i = 0; i < found.keys.length; i++) {
        const id = found.keys[i]!;
        const record = this.#records.get(id);
        if (!record) continue;
        if (record.expiresAt <= now) {
          this.#remove(id);
          continue;
        }
        const score = 1 - found.distances[i]!;
        if (score >= minScore) hits.push({ record, score, vector: this.#vectors?.get(id) });
      }
    }
    hits.sort((a, b) => b.score - a.score);
    return hits.length > k ? hits.slice(0, k) : hits;
  }

  #raiseBar(key: string, score: number): void {
    const bar = Math.max(score, this.barOf(key));
    // Most recently raised last; beyond `maxEntries` bars the oldest goes (its entry is long evicted).
    this.#bars.delete(key);
    this.#bars.set(key, bar);
    if (this.#bars.size > this.#options.maxEntries) {
      const oldest = this.#bars.keys().next();
      if (!oldest.done) this.#bars.delete(oldest.value);
    }
  }

  #buildGraph(): void {
    const graph = new Index({
      dimensions: this.dimensions,
      metric: 'cos',
      connectivity: this.#options.connectivity,
      expansion_add: this.#options.expansionAdd,
      expansion_search: this.#options.expansionSearch,
    } as ConstructorParameters<typeof Index>[0]);
    this.#insert(graph, [...this.#vectors!.keys()], [...this.#vectors!.values()]);
    this.#graph = graph;
    if (!this.#options.keepVectors) this.#vectors = null;
  }

  /** One native call per batch; a large batch (a first sync) uses every core, a small one this thread. */
  #insert(graph: Index, ids: bigint[], vectors: Float32Array[]): void {
    if (ids.length === 1) {
      graph.add(ids[0]!, vectors[0]!, 1);
      return;
    }
    const flat = new Float32Array(ids.length * this.dimensions);
    vectors.forEach((v, i) => {
      flat.set(v, i * this.dimensions);
    });
    graph.add(BigUint64Array.from(ids), flat, ids.length > 256 ? 0 : 1);
  }

  #removeOldest(): void {
    while (this.#head < this.#order.length) {
      const id = this.#order[this.#head++]!;
      if (this.#records.has(id)) {
        this.#remove(id);
        return;
      }
    }
  }

  #remove(id: bigint): void {
    this.#records.delete(id);
    if (this.#graph) this.#graph.remove(id);
    this.#vectors?.delete(id);
  }
}
