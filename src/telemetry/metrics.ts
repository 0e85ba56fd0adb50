/**
 * The Prometheus metrics of DESIGN §9, registered once per gateway on its own registry (so several gateways
 * in one process, as in tests, never share counters). Every metric has help text and bounded labels: models
 * and providers come from the config's catalogue, never from free client input (see `modelLabel`).
 *
 * Components update the metric of the event they own: the pipeline the request and provider metrics, the
 * cache its hits and lookups, the rate limiter its checks, the accountant the cost and tokens.
 *
 * Counters and histograms are prom-client's, pre-bound per label set after first use (series.ts): a request
 * updates a dozen series, and prom-client alone re-validates and re-hashes the labels of each call.
 *
 * With `--workers N` the instance's `/metrics` merges the workers' registries (server/cluster-metrics.ts,
 * decision 0224): counters and histograms are summed, and each gauge says how it merges (`aggregator`:
 * `sum` unless noted; a breaker state is the worst, the hit rate the workers' mean).
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { SeriesCounter, SeriesHistogram } from './series.js';

/** Seconds: from sub-millisecond (cache hits) to long generations. */
const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
const FAST_BUCKETS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export type Metrics = ReturnType<typeof createMetrics>;

export interface MetricsOptions {
  /** false: no Node.js process metrics (tests). */
  processMetrics?: boolean;
  /**
   * Whether `llm_daily_cost_usd` is a total shared through Redis (every worker reports the same day's
   * total: workers merge by `max`) rather than each worker's own spend (merged by `sum`).
   */
  sharedDailyCost?: boolean;
}

/** Creates the registry with every gateway metric and Node's process metrics. */
export function createMetrics(options: MetricsOptions = {}) {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    requests: new SeriesCounter({
      name: 'llm_requests_total',
      help: 'Completion and embedding requests answered, by model, HTTP status, cache outcome and provider.',
      labelNames: ['model', 'status', 'cache_status', 'provider'] as const,
      registers: r,
    }),
    requestDuration: new SeriesHistogram({
      name: 'llm_request_duration_seconds',
      help: 'Time from request arrival to the end of the response (whole stream included).',
      labelNames: ['model', 'provider'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    timeToFirstToken: new SeriesHistogram({
      name: 'llm_time_to_first_token_seconds',
      help: 'Streams: time from request arrival to the first content chunk sent to the client.',
      labelNames: ['model', 'provider'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    tokens: new SeriesCounter({
      name: 'llm_token_count',
      help: 'Tokens processed, by model and type (input, output, cached_input).',
      labelNames: ['model', 'type'] as const,
      registers: r,
    }),
    costUsd: new SeriesCounter({
      name: 'llm_cost_usd_total',
      help: 'Upstream cost in USD, by model (priced models only).',
      labelNames: ['model'] as const,
      registers: r,
    }),
    costSavedUsd: new SeriesCounter({
      name: 'llm_cost_saved_usd_total',
      help: 'USD not spent upstream because a cache answered.',
      registers: r,
    }),
    costUnknownModel: new SeriesCounter({
      name: 'llm_cost_unknown_model_total',
      help: 'Requests whose model has no price in the pricing table (cost recorded as unknown).',
      registers: r,
    }),
    costAlerts: new SeriesCounter({
      name: 'llm_cost_alerts_total',
      help: 'Times the daily cost alert threshold was crossed (at most once per day).',
      registers: r,
    }),
    dailyCostUsd: new Gauge({
      name: 'llm_daily_cost_usd',
      help: 'Upstream cost in USD so far today (UTC), as seen by this instance.',
      aggregator: options.sharedDailyCost ? 'max' : 'sum',
      registers: r,
    }),
    budgetExceeded: new SeriesCounter({
      name: 'llm_budget_exceeded_total',
      help: 'Requests refused because a daily or monthly budget would be exceeded.',
      labelNames: ['scope', 'period'] as const,
      registers: r,
    }),
    cacheHits: new SeriesCounter({
      name: 'llm_cache_hits_total',
      help: 'Requests answered from the cache, by cache type (exact, semantic).',
      labelNames: ['cache_type'] as const,
      registers: r,
    }),
    cacheMisses: new SeriesCounter({
      name: 'llm_cache_misses_total',
      help: 'Cacheable requests the cache could not answer.',
      registers: r,
    }),
    cacheHitRate: new Gauge({
      name: 'llm_cache_hit_rate',
      help: 'Share of cacheable requests answered from the cache since start (0..1).',
      aggregator: 'average',
      registers: r,
    }),
    cacheLookupDuration: new SeriesHistogram({
      name: 'llm_cache_lookup_duration_seconds',
      help: 'Time to look a request up in the cache, by cache type.',
      labelNames: ['cache_type'] as const,
      buckets: FAST_BUCKETS,
      registers: r,
    }),
    cacheCoalesced: new SeriesCounter({
      name: 'llm_cache_coalesced_total',
      help: 'Requests that waited for an identical in-flight request instead of calling upstream.',
      registers: r,
    }),
    semanticCacheHits: new SeriesCounter({
      name: 'llm_semantic_cache_hits_total',
      help: 'Requests answered by the semantic cache.',
      registers: r,
    }),
    semanticFeedback: new SeriesCounter({
      name: 'llm_semantic_cache_feedback_total',
      help: 'Feedback on semantic hits (SEMANTIC_CACHE_FEEDBACK_METRIC), by outcome: contradicted (the entry now needs a higher score), confirmed, unmatched (not a semantic hit known to this cache, or another caller).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    semanticVetoed: new SeriesCounter({
      name: 'llm_semantic_cache_vetoed_total',
      help: "Semantic matches the matcher accepted but refused because feedback raised their entry's score bar.",
      registers: r,
    }),
    semanticSkipped: new SeriesCounter({
      name: 'llm_semantic_lookups_skipped_total',
      help: 'Semantic cache lookups skipped because the embedding pool was saturated, loading or unavailable.',
      labelNames: ['reason'] as const,
      registers: r,
    }),
    embeddingDuration: new SeriesHistogram({
      name: 'llm_embedding_generation_duration_seconds',
      help: 'Time to embed a message for the semantic cache.',
      buckets: FAST_BUCKETS,
      registers: r,
    }),
    rateLimitChecks: new SeriesCounter({
      name: 'llm_rate_limit_checks_total',
      help: 'Rate-limit checks made, by result (allowed, limited, error).',
      labelNames: ['result'] as const,
      registers: r,
    }),
    rateLimitExceeded: new SeriesCounter({
      name: 'llm_rate_limit_exceeded_total',
      help: 'Requests refused with 429 by the gateway rate limiter, by tier.',
      labelNames: ['tier'] as const,
      registers: r,
    }),
    providerDuration: new SeriesHistogram({
      name: 'llm_provider_api_duration_seconds',
      help: 'Duration of one upstream attempt (to the whole answer, or to the first chunk of a stream).',
      labelNames: ['provider'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    providerErrors: new SeriesCounter({
      name: 'llm_provider_errors_total',
      help: 'Failed upstream attempts, by provider and error code.',
      labelNames: ['provider', 'code'] as const,
      registers: r,
    }),
    activeRequests: new Gauge({
      name: 'llm_active_requests',
      help: 'Completion and embedding requests in progress.',
      registers: r,
    }),
    fallbacks: new SeriesCounter({
      name: 'llm_fallbacks_total',
      help: 'Times a request moved from one deployment to the next.',
      labelNames: ['from', 'to'] as const,
      registers: r,
    }),
    circuitState: new Gauge({
      name: 'llm_circuit_state',
      help: 'Circuit breaker state per deployment: 0 closed, 1 half-open, 2 open.',
      labelNames: ['deployment'] as const,
      aggregator: 'max',
      registers: r,
    }),
    guardrailActions: new SeriesCounter({
      name: 'llm_guardrail_actions_total',
      help: 'Guardrail actions taken, by policy, entity type, action and direction (input or output).',
      labelNames: ['policy', 'entity', 'action', 'direction'] as const,
      registers: r,
    }),
    dependencyErrors: new SeriesCounter({
      name: 'llm_dependency_errors_total',
      help: 'Failures of a dependency (redis, database, tracing, embedder) that the gateway absorbed.',
      labelNames: ['dependency'] as const,
      registers: r,
    }),
    redisBreakerState: new Gauge({
      name: 'llm_redis_breaker_state',
      help: 'Breaker in front of Redis: 0 closed (Redis in use), 1 half-open (probing), 2 open (skipped).',
      aggregator: 'max',
      registers: r,
    }),
    redisBreakerTransitions: new SeriesCounter({
      name: 'llm_redis_breaker_transitions_total',
      help: 'State changes of the breaker in front of Redis, by the state entered.',
      labelNames: ['to'] as const,
      registers: r,
    }),
    redisFallback: new SeriesCounter({
      name: 'llm_redis_fallback_total',
      help: 'Rate-limit and budget decisions made by the per-instance fallback while Redis was unavailable, by feature and result (allowed, refused), and budget counters synced back to Redis (synced).',
      labelNames: ['feature', 'result'] as const,
      registers: r,
    }),
    httpRequests: new SeriesCounter({
      name: 'llm_http_requests_total',
      help: 'HTTP requests answered on every route (API, admin, health, metrics), by method, route template and status.',
      labelNames: ['method', 'route', 'status'] as const,
      registers: r,
    }),
    httpRequestDuration: new SeriesHistogram({
      name: 'llm_http_request_duration_seconds',
      help: 'Time from HTTP request arrival to the end of its response, by method and route template.',
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS,
      registers: r,
    }),
    usageRecordsPending: new Gauge({
      name: 'llm_usage_records_pending',
      help: 'Usage records not yet in the database (queued in memory or in the spool file).',
      registers: r,
    }),
    usageQueueDepth: new Gauge({
      name: 'llm_usage_queue_depth',
      help: 'Usage records held in memory (bounded by accounting.max_queue; the rest spill to the spool file).',
      registers: r,
    }),
    usageRecordsSpooled: new SeriesCounter({
      name: 'llm_usage_records_spooled_total',
      help: 'Usage records written to the spool file because the database was slow, down or not yet open.',
      registers: r,
    }),
    usageRecordsRejected: new SeriesCounter({
      name: 'llm_usage_records_rejected_total',
      help: 'Usage records the database refused as data (set aside in the spool directory, rejected-*.jsonl).',
      registers: r,
    }),
  };
}

/** Metric names the gateway exports (dashboards and alert rules may use only these). */
export async function exportedMetricNames(metrics: Metrics): Promise<string[]> {
  const all = await metrics.registry.getMetricsAsJSON();
  return all.map((m) => m.name);
}
