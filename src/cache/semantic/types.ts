/**
 * Contracts of the semantic cache's parts, so the embedder, the match guards and the cache itself can
 * change independently (DESIGN §6).
 */

/** Turns texts into L2-normalised vectors (cosine similarity = dot product). */
export interface Embedder {
  /** e.g. `local:use-lite` or `provider:text-embedding-3-small`; part of the partition key. */
  readonly id: string;
  readonly dimensions: number;
  /** One vector per text, in order. Rejects on failure; callers treat that as a cache miss. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
  /** Resolves when the model is loaded (worker pool); rejects when it cannot be. */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

/**
 * Decides whether a cached entry made for `cachedText` may answer `queryText`: a cosine score alone
 * serves wrong answers (near misses score above true paraphrases), so guards check more than the score.
 */
export interface MatchGuard {
  /** The cosine score below which nothing is considered (the index's search cut-off). */
  readonly threshold: number;
  /**
   * True when the matcher scores the two vectors themselves (the verifier's pair model): the cache then keeps
   * each record's vector at hand and passes both to `judge`/`accept`.
   */
  readonly needsVectors?: boolean;
  accept(queryText: string, cachedText: string, score: number, vectors?: PairVectors): boolean;
  /**
   * The verdict with the score the decision was made on (the verifier's probability; the cosine for the
   * rule-based guards), for `X-Cache-Score`. Optional: `accept` with the cosine is used when absent.
   */
  judge?(queryText: string, cachedText: string, cosine: number, vectors?: PairVectors): MatchJudgement;
  /** What the admin stats show about the matcher (kind, version, operating point). */
  describe?(): Record<string, unknown>;
}

export interface MatchJudgement {
  accepted: boolean;
  score: number;
}

/** The embeddings of the query and of the cached text (L2-normalised), for matchers that need them. */
export interface PairVectors {
  query: Float32Array;
  cached: Float32Array;
}
