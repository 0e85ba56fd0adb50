/**
 * The configuration schema: one TypeBox schema gives the validated type and the error messages.
 * Field names are snake_case like the YAML file and the rest of the API.
 */
import { type Static, Type as T } from '@sinclair/typebox';
import { GuardrailsSchema } from './guardrails-schema.js';
import { AccountingSchema, BudgetsSchema, PricingSchema } from './money-schema.js';
import { FeedbackSchema, PromptsSchema } from './prompts-schema.js';
import { RedisSchema } from './redis-schema.js';
import { SemanticMatchFields } from './semantic-schema.js';
import { TenancySchema } from './tenancy-schema.js';

export {
  AccountingSchema,
  BudgetLimitSchema,
  BudgetsSchema,
  PriceSchema,
  PricingSchema,
} from './money-schema.js';
export { type RedisConfig, RedisSchema, redisConfigured } from './redis-schema.js';

const LogLevel = T.Union(
  ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)),
);

export const ProviderTypeSchema = T.Union([
  T.Literal('openai'),
  T.Literal('azure'),
  T.Literal('anthropic'),
  T.Literal('gemini'),
]);

export const ProviderConfigSchema = T.Object(
  {
    type: ProviderTypeSchema,
    base_url: T.String({ format: 'uri', minLength: 1, description: 'Upstream base URL.' }),
    /** Env variable that overrides `base_url` (e.g. OPENAI_BASE_URL). */
    base_url_env: T.Optional(T.String({ pattern: '^[A-Z_][A-Z0-9_]*$' })),
    /** Env variable that holds the API key. Keys are read only from env, never from the file. */
    api_key_env: T.Optional(T.String({ pattern: '^[A-Z_][A-Z0-9_]*$' })),
    /** False for keyless servers (Ollama, vLLM): the provider is offered without a key. */
    requires_api_key: T.Boolean({ default: true }),
    enabled: T.Boolean({ default: true }),
    /** Azure OpenAI `api-version`. */
    api_version: T.Optional(T.String({ minLength: 1 })),
    headers: T.Record(T.String(), T.String(), { default: {} }),
    /** Models listed by GET /v1/models for this provider. */
    models: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** Model-name prefixes routed to this provider without `provider/` (e.g. `claude-`). */
    model_prefixes: T.Array(T.String({ minLength: 1 }), { default: [] }),
    /** Sent as max_tokens to providers that require one (Anthropic) when the client sent none. */
    default_max_tokens: T.Integer({ minimum: 1, default: 4096 }),
    /**
     * `gen_ai.provider.name` on spans: the OpenTelemetry GenAI well-known value (`gcp.gemini`, `mistral_ai`,
     * `azure.ai.openai` …) when the provider has one; default: the provider's own name.
     */
    gen_ai_provider_name: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);

/** Circuit breaker settings (DESIGN §5); every field optional where it overrides `routing.breaker`. */
const breakerFields = {
  /** Failure fraction over the window that opens the breaker. */
  failure_rate_threshold: T.Number({ exclusiveMinimum: 0, maximum: 1 }),
  /** Sliding window the failure rate is measured over. */
  window_ms: T.Integer({ minimum: 1000 }),
  /** Requests the window must hold before the rate counts. */
  min_requests: T.Integer({ minimum: 1 }),
  /** Consecutive failures that open the breaker (0 = only the rate). */
  consecutive_failures: T.Integer({ minimum: 0 }),
  /** Time open before probes are let through. */
  cooldown_ms: T.Integer({ minimum: 1 }),
  /** Probes let through at once while half-open. */
  half_open_probes: T.Integer({ minimum: 1 }),
  /**
   * Expected ms per output token of a healthy deployment (0 = every timeout counts): a whole-answer
   * request whose max_tokens × this passes its timeout is not held against the breaker, nor retried.
   */
  expected_ms_per_output_token: T.Number({ minimum: 0 }),
};

export const BreakerSchema = T.Object(breakerFields, { additionalProperties: false });

export const DeploymentSchema = T.Object(
  {
    /** Id in logs, metrics, breaker state and /admin/routes; default `provider/model`. */
    name: T.Optional(T.String({ minLength: 1, pattern: '^[^\\s]+$' })),
    provider: T.String({ minLength: 1 }),
    model: T.String({ minLength: 1 }),
    weight: T.Optional(T.Number({ minimum: 0 })),
    priority: T.Optional(T.Integer()),
    rank: T.Optional(T.Integer()),
    base_url: T.Optional(T.String({ format: 'uri' })),
    api_key_env: T.Optional(T.String({ pattern: '^[A-Z_][A-Z0-9_]*$' })),
    /** USD per 1M tokens for the `cost` strategy, overriding the pricing table. */
    input_cost_per_mtok: T.Optional(T.Number({ minimum: 0 })),
    output_cost_per_mtok: T.Optional(T.Number({ minimum: 0 })),
    breaker: T.Optional(T.Partial(BreakerSchema)),
  },
  { additionalProperties: false },
);

export const RouteSchema = T.Object(
  {
    strategy: T.Union(
      [
        T.Literal('failover'),
        T.Literal('round_robin'),
        T.Literal('weighted'),
        T.Literal('cost'),
        T.Literal('latency'),
        T.Literal('quality'),
      ],
      { default: 'failover' },
    ),
    deployments: T.Array(DeploymentSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const StaticKeySchema = T.Object(
  {
    name: T.String({ minLength: 1 }),
    /** Hex SHA-256 of the key; the key itself never goes into config. */
    key_sha256: T.String({ pattern: '^[0-9a-f]{64}$' }),
    user_id: T.String({ minLength: 1 }),
    tier: T.String({ default: 'free' }),
    /** Empty = every model. */
    allowed_models: T.Array(T.String({ minLength: 1 }), { default: [] }),
    revoked: T.Boolean({ default: false }),
    expires_at: T.Optional(T.String({ format: 'date-time' })),
    /** Guardrail policy names applied to this key's requests. */
    guardrails: T.Array(T.String({ minLength: 1 }), { default: [], maxItems: 16 }),
  },
  { additionalProperties: false },
);

export const RateLimitTierSchema = T.Object(
  {
    /** Requests added to the bucket per minute (default: rate_limit.default_rate). */
    rate_per_minute: T.Optional(T.Number({ exclusiveMinimum: 0 })),
    /** Bucket size: the burst a client may send at once (default: rate_limit.default_capacity). */
    capacity: T.Optional(T.Integer({ minimum: 1 })),
    /** Optional second bucket: prompt + completion tokens per minute (absent = no token limit). */
    tokens_per_minute: T.Optional(T.Number({ exclusiveMinimum: 0 })),
    /** Size of the token bucket (default: tokens_per_minute). */
    token_capacity: T.Optional(T.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

export const RateLimitSchema = T.Object(
  {
    /** RATE_LIMIT_ENABLED. */
    enabled: T.Boolean(),
    /** `auto` = Redis when REDIS_URL is set, else process memory. */
    backend: T.Union([T.Literal('auto'), T.Literal('memory'), T.Literal('redis')]),
    /** Requests per minute for tiers that set none (RATE_LIMIT_DEFAULT_RATE). */
    default_rate: T.Number({ exclusiveMinimum: 0 }),
    /** Bucket capacity for tiers that set none (RATE_LIMIT_DEFAULT_CAPACITY). */
    default_capacity: T.Integer({ minimum: 1 }),
    /** Per-tier limits; a principal whose tier is not listed gets the defaults. */
    tiers: T.Record(T.String({ minLength: 1 }), RateLimitTierSchema),
    /** Memory backend: most buckets kept (least recently used dropped first; a dropped bucket is full). */
    max_memory_buckets: T.Integer({ minimum: 1 }),
    /**
     * Redis unavailable: each instance enforces the tier limits divided by this (decision 0087); 1 = the
     * whole limit per instance (RATE_LIMIT_FALLBACK_INSTANCES).
     */
    fallback_instances: T.Integer({ minimum: 1, default: 1 }),
  },
  { additionalProperties: false },
);

export const ConfigSchema = T.Object(
  {
    server: T.Object(
      {
        host: T.String({ minLength: 1 }),
        port: T.Integer({ minimum: 0, maximum: 65535 }),
        body_limit_bytes: T.Integer({ minimum: 1024 }),
        /**
         * Bytes of request bodies the pipeline routes hold at once, from their first byte until their
         * answer (MAX_BODY_BYTES_IN_FLIGHT; 0 = no bound): past it a body is refused with 503 and
         * Retry-After, so a flood of large bodies cannot run the process out of memory.
         */
        body_bytes_in_flight: T.Integer({ minimum: 0 }),
        /** Longest a client may take to send its whole request (headers and body). */
        request_timeout_ms: T.Integer({ minimum: 1 }),
        /** How long SIGTERM waits for in-flight requests and streams before closing them. */
        shutdown_grace_ms: T.Integer({ minimum: 0 }),
        trust_proxy: T.Boolean(),
        /**
         * V8's heap growing factor, as 1 + percent / 100: how far the old generation may grow past the
         * live data before the next full collection (HEAP_GROWING_PERCENT; 0 = V8's own, up to 4×).
         */
        heap_growing_percent: T.Integer({ minimum: 0, maximum: 1000 }),
        /**
         * V8's allocation-site pretenuring (V8_PRETENURING). Off by default: it promoted per-request objects
         * and lengthened every scavenge (docs/decisions/0187).
         */
        v8_pretenuring: T.Boolean(),
        /**
         * How much nicer (lower scheduling priority) the process's helper threads run than its event loop
         * on Linux: GC and compiler helpers, the thread pool, worker threads (BACKGROUND_THREADS_NICE; 0 = off).
         */
        background_threads_nice: T.Integer({ minimum: 0, maximum: 19 }),
      },
      { additionalProperties: false },
    ),
    log: T.Object(
      {
        level: LogLevel,
        /** Log prompts and completions. Off by default: they may hold personal data. */
        bodies: T.Boolean(),
      },
      { additionalProperties: false },
    ),
    upstream: T.Object(
      {
        /** One attempt: time until the answer (non-stream) or the first chunk (stream). */
        timeout_ms: T.Integer({ minimum: 1 }),
        /** All attempts, retries and fallbacks of one request together (streams: until the first chunk). */
        total_timeout_ms: T.Integer({ minimum: 1 }),
        /** Longest silence between two chunks of a stream. */
        stream_idle_timeout_ms: T.Integer({ minimum: 1 }),
        connect_timeout_ms: T.Integer({ minimum: 1 }),
        connections_per_origin: T.Integer({ minimum: 1 }),
        keep_alive_timeout_ms: T.Integer({ minimum: 1 }),
        /** Largest upstream answer accepted, a whole stream included (backstop against runaway upstreams). */
        max_response_bytes: T.Integer({ minimum: 1024 }),
      },
      { additionalProperties: false },
    ),
    retry: T.Object(
      {
        /** Attempts per deployment, the first included. */
        max_attempts: T.Integer({ minimum: 1, maximum: 20 }),
        base_delay_ms: T.Integer({ minimum: 0 }),
        max_delay_ms: T.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    auth: T.Object(
      {
        mode: T.Union([T.Literal('none'), T.Literal('keys')]),
        /** Keys listed in config (by hash); database keys (admin API, CLI) are served alongside them. */
        keys: T.Array(StaticKeySchema),
        /** How often every instance reloads the database keys (revocation is visible within this). */
        refresh_interval_ms: T.Integer({ minimum: 100 }),
        /** Longest a request waits for the database when it presents a key this instance does not know. */
        lookup_timeout_ms: T.Integer({ minimum: 1 }),
        /** How long an unknown key hash is remembered as unknown (no database lookup meanwhile). */
        negative_cache_ms: T.Integer({ minimum: 0 }),
        /**
         * Failed authentications per client address (token bucket); once spent, keys this instance does
         * not know are refused with 429 before any lookup. `per_minute: 0` turns it off.
         */
        failure_throttle: T.Object(
          {
            per_minute: T.Number({ minimum: 0, default: 30 }),
            burst: T.Integer({ minimum: 1, default: 30 }),
            /** Addresses tracked at most (least recently used dropped first). */
            max_sources: T.Integer({ minimum: 1, default: 10_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false },
    ),
    rate_limit: RateLimitSchema,
    providers: T.Record(T.String({ pattern: '^[a-z0-9][a-z0-9_.-]*$' }), ProviderConfigSchema),
    routes: T.Record(T.String({ minLength: 1 }), RouteSchema),
    routing: T.Object(
      {
        /** A YAML file of more routes (`ROUTES_FILE`): a `routes:` mapping, or the aliases at the top level. */
        routes_file: T.Union([T.String({ minLength: 1 }), T.Null()]),
        /** Breaker defaults for every deployment. */
        breaker: BreakerSchema,
        latency: T.Object(
          {
            /** Weight of the newest sample in the moving average (0–1]. */
            ewma_alpha: T.Number({ exclusiveMinimum: 0, maximum: 1 }),
            /** A deployment not measured for this long gets the next request of a `latency` route. */
            probe_interval_ms: T.Integer({ minimum: 1 }),
            /** Chance that a `latency` route tries a random other deployment first. */
            epsilon: T.Number({ minimum: 0, maximum: 1 }),
          },
          { additionalProperties: false },
        ),
        /** Output tokens assumed by the `cost` strategy when the request sets no max_tokens. */
        cost_default_output_tokens: T.Integer({ minimum: 1 }),
      },
      { additionalProperties: false },
    ),
    redis: RedisSchema,
    /** Response cache (DESIGN §6; docs/caching.md). */
    cache: T.Object(
      {
        enabled: T.Boolean({ default: true }),
        /** Default time to live of an entry (CACHE_TTL_SECONDS); `X-Cache-TTL` overrides it per request. */
        ttl_seconds: T.Integer({ minimum: 1, default: 3600 }),
        /** Longest TTL a client may ask for with `X-Cache-TTL`. */
        max_ttl_seconds: T.Integer({ minimum: 1, default: 86_400 }),
        /** In-process backend: most entries kept (LRU). */
        max_entries: T.Integer({ minimum: 1, default: 10_000 }),
        /** In-process backend: most bytes of entries kept (LRU). */
        max_bytes: T.Integer({ minimum: 1024, default: 64 * 1024 * 1024 }),
        /** Largest single answer cached, in bytes of its stored form. */
        max_entry_bytes: T.Integer({ minimum: 256, default: 1024 * 1024 }),
        /** Cache only requests whose temperature is at most this (0 = deterministic only). */
        max_temperature: T.Number({ minimum: 0, maximum: 2, default: 0 }),
        /** Coalesce identical in-flight cacheable requests into one upstream call. */
        single_flight: T.Boolean({ default: true }),
        /**
         * Who shares cached answers, semantic matches and coalesced calls (CACHE_SCOPE; DESIGN §7 Isolation):
         * `team` (the key where it has no team), `key`, `org` (else team, else key), or `global` (everyone).
         */
        scope: T.Union([T.Literal('key'), T.Literal('team'), T.Literal('org'), T.Literal('global')], {
          default: 'team',
        }),
        /** Redis values larger than this are gzipped. */
        compress_above_bytes: T.Integer({ minimum: 0, default: 2048 }),
        semantic: T.Object(
          {
            enabled: T.Boolean({ default: false }),
            /** With `matcher: guards`: the cosine a candidate must reach (the guards may still refuse it). */
            threshold: T.Optional(T.Number({ minimum: 0, maximum: 1 })),
            /** Most recent entries kept per partition (oldest dropped). */
            max_entries: T.Integer({ minimum: 1, default: 1000 }),
            embedder: T.Union([T.Literal('local'), T.Literal('provider')], { default: 'local' }),
            /** Provider embedder: the model asked of the gateway's own /v1/embeddings. */
            embedding_model: T.String({ minLength: 1, default: 'text-embedding-3-small' }),
            /** Provider embedder: base URL of the gateway (default: this gateway on its own port). */
            embedding_base_url: T.Optional(T.String({ format: 'uri' })),
            /** Longest wait for an embedding on the request path; slower → exact miss only. */
            timeout_ms: T.Integer({ minimum: 1, default: 200 }),
            /** Local embedder: worker threads (unset: cores − 1, at least 1; 0: on the event loop). */
            embedding_workers: T.Optional(T.Integer({ minimum: 0, maximum: 64 })),
            /** Local embedder: most texts waiting or running in the pool; beyond it a lookup is skipped. */
            embedding_queue: T.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
            ...SemanticMatchFields,
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    database: T.Object(
      {
        /** postgres://… (DATABASE_URL); null = embedded PGlite under data_dir. */
        url: T.Union([T.String({ format: 'postgres-url' }), T.Null()]),
        /** PGlite data directory (GATEWAY_DATA_DIR), or `memory://` for a database that dies with the process. */
        data_dir: T.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    telemetry: T.Object(
      {
        /** OTLP/HTTP collector base URL (OTEL_EXPORTER_OTLP_ENDPOINT); null = tracing off, at no cost. */
        otlp_endpoint: T.Union([T.String({ format: 'uri' }), T.Null()]),
        /** `service.name` of the spans (OTEL_SERVICE_NAME). */
        service_name: T.String({ minLength: 1 }),
        /** With log.bodies: longest prompt or completion text written to a log line. */
        log_body_max_chars: T.Integer({ minimum: 64 }),
      },
      { additionalProperties: false },
    ),
    accounting: AccountingSchema,
    pricing: PricingSchema,
    budgets: BudgetsSchema,
    guardrails: GuardrailsSchema,
    tenancy: TenancySchema,
    prompts: PromptsSchema,
    feedback: FeedbackSchema,
  },
  { additionalProperties: false },
);

/** The validated, frozen configuration. */
export type Config = Static<typeof ConfigSchema>;
export type ProviderConfig = Static<typeof ProviderConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
export type DeploymentConfig = Static<typeof DeploymentSchema>;
export type RoutingConfig = Static<typeof ConfigSchema>['routing'];
export type StaticKeyConfig = Static<typeof StaticKeySchema>;
export type RateLimitConfig = Static<typeof RateLimitSchema>;
export type RateLimitTierConfig = Static<typeof RateLimitTierSchema>;
export type AccountingConfig = Static<typeof AccountingSchema>;
export type BudgetsConfig = Static<typeof BudgetsSchema>;
export type CacheConfig = Static<typeof ConfigSchema>['cache'];
