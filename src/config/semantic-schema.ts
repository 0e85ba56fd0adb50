/**
 * Settings of the semantic cache's matcher and vector index (DESIGN §6; docs/caching.md "Semantic verifier"),
 * part of `cache.semantic` in `ConfigSchema` (schema.ts).
 */
import { Type as T } from '@sinclair/typebox';

/** Properties spread into the `cache.semantic` object. */
export const SemanticMatchFields = {
  /**
   * Who decides whether a cached entry answers a new prompt (SEMANTIC_CACHE_MATCHER): `verifier`, the
   * calibrated model (decision 0115), or `guards`, the rule-based guards of the first version (decision 0014).
   */
  matcher: T.Union([T.Literal('verifier'), T.Literal('guards')], { default: 'verifier' }),
  /**
   * The stated bound on the share of non-duplicates served (SEMANTIC_CACHE_MAX_FALSE_HIT_RATE): the verifier
   * uses the operating point calibrated for the largest bound not above it (decision 0116).
   */
  max_false_hit_rate: T.Number({ minimum: 0.001, maximum: 0.1, default: 0.01 }),
  /** Best candidates by cosine offered to the matcher per lookup (SEMANTIC_CACHE_CANDIDATES). */
  candidates: T.Integer({ minimum: 1, maximum: 50, default: 5 }),
  /** Records from which a partition is searched through an HNSW graph instead of a flat scan (SEMANTIC_CACHE_ANN_FROM). */
  ann_from: T.Integer({ minimum: 1, default: 2048 }),
  /** HNSW edges per node (SEMANTIC_CACHE_ANN_CONNECTIVITY). */
  ann_connectivity: T.Integer({ minimum: 2, maximum: 128, default: 16 }),
  /** HNSW candidate list while searching (SEMANTIC_CACHE_ANN_EXPANSION): more = better recall, slower. */
  ann_expansion: T.Integer({ minimum: 8, maximum: 1024, default: 64 }),
  /**
   * A boolean metric of `feedback.metrics` (SEMANTIC_CACHE_FEEDBACK_METRIC): `POST /v1/feedback` with it
   * `false` on a semantic hit raises the score its entry needs (decision 0174). Unset: feedback is not read.
   */
  feedback_metric: T.Optional(T.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' })),
};

/** Environment variables of these settings, for load.ts's table. */
export const SEMANTIC_MATCH_ENV: ReadonlyArray<[string, string, 'string' | 'number' | 'int']> = [
  ['SEMANTIC_CACHE_MATCHER', 'cache.semantic.matcher', 'string'],
  ['SEMANTIC_CACHE_MAX_FALSE_HIT_RATE', 'cache.semantic.max_false_hit_rate', 'number'],
  ['SEMANTIC_CACHE_CANDIDATES', 'cache.semantic.candidates', 'int'],
  ['SEMANTIC_CACHE_ANN_FROM', 'cache.semantic.ann_from', 'int'],
  ['SEMANTIC_CACHE_ANN_CONNECTIVITY', 'cache.semantic.ann_connectivity', 'int'],
  ['SEMANTIC_CACHE_ANN_EXPANSION', 'cache.semantic.ann_expansion', 'int'],
  ['SEMANTIC_CACHE_FEEDBACK_METRIC', 'cache.semantic.feedback_metric', 'string'],
];
