/**
 * Built-in defaults, including the provider catalogue. A provider is offered only when its key is set
 * (or, for keyless servers, when it is enabled); adding an OpenAI-compatible provider is data, not code.
 */
import type { Config, ProviderConfig } from './schema.js';

type ProviderDefaults = Pick<ProviderConfig, 'type' | 'base_url'> & Partial<ProviderConfig>;

/** What a provider entry gets for the fields it leaves out (built-in or from the config file). */
export const PROVIDER_DEFAULTS = Object.freeze({
  requires_api_key: true,
  enabled: true,
  headers: {},
  models: [],
  model_prefixes: [],
  default_max_tokens: 4096,
});

function provider(p: ProviderDefaults): ProviderConfig {
  return { ...structuredClone(PROVIDER_DEFAULTS), ...p } as ProviderConfig;
}

/**
 * Azure's base URL until AZURE_OPENAI_ENDPOINT (or `base_url`) names the resource: every resource has its
 * own host, so there is no real default, and the registry does not offer Azure while this is its URL (the
 * key would be sent to whoever owns that host).
 */
export const AZURE_PLACEHOLDER_URL = 'https://example-resource.openai.azure.com';

/** Well-known providers, keyed by the name used in `provider/model` and `X-Provider`. */
export const BUILTIN_PROVIDERS: Record<string, ProviderConfig> = {
  openai: provider({
    type: 'openai',
    base_url: 'https://api.openai.com/v1',
    base_url_env: 'OPENAI_BASE_URL',
    api_key_env: 'OPENAI_API_KEY',
    model_prefixes: ['gpt-', 'o1', 'o3', 'o4', 'chatgpt-', 'text-embedding-'],
    models: [
      'gpt-4o',
      'gpt-4o-mini',
      'gpt-4.1',
      'gpt-4.1-mini',
      'gpt-4.1-nano',
      'o3',
      'o3-mini',
      'o4-mini',
      'gpt-5',
      'gpt-5-mini',
      'gpt-5-nano',
      'text-embedding-3-small',
      'text-embedding-3-large',
    ],
  }),
  anthropic: provider({
    type: 'anthropic',
    base_url: 'https://api.anthropic.com',
    base_url_env: 'ANTHROPIC_BASE_URL',
    api_key_env: 'ANTHROPIC_API_KEY',
    model_prefixes: ['claude-'],
    models: [
      'claude-opus-4-1',
      'claude-sonnet-4-5',
      'claude-sonnet-4-0',
      'claude-haiku-4-5',
      'claude-3-5-haiku-latest',
    ],
  }),
  gemini: provider({
    type: 'gemini',
    gen_ai_provider_name: 'gcp.gemini',
    base_url: 'https://generativelanguage.googleapis.com',
    base_url_env: 'GEMINI_BASE_URL',
    api_key_env: 'GEMINI_API_KEY',
    model_prefixes: ['gemini-'],
    models: [
      'gemini-2.5-pro',
      'gemini-2.5-flash',
      'gemini-2.5-flash-lite',
      'gemini-2.0-flash',
      'gemini-embedding-001',
    ],
  }),
  azure: provider({
    type: 'azure',
    gen_ai_provider_name: 'azure.ai.openai',
    base_url: AZURE_PLACEHOLDER_URL,
    base_url_env: 'AZURE_OPENAI_ENDPOINT',
    api_key_env: 'AZURE_OPENAI_API_KEY',
    api_version: '2024-10-21',
  }),
  together: provider({
    type: 'openai',
    base_url: 'https://api.together.xyz/v1',
    base_url_env: 'TOGETHER_BASE_URL',
    api_key_env: 'TOGETHER_API_KEY',
    models: ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo'],
  }),
  groq: provider({
    type: 'openai',
    base_url: 'https://api.groq.com/openai/v1',
    base_url_env: 'GROQ_BASE_URL',
    api_key_env: 'GROQ_API_KEY',
    models: ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant'],
  }),
  fireworks: provider({
    type: 'openai',
    base_url: 'https://api.fireworks.ai/inference/v1',
    base_url_env: 'FIREWORKS_BASE_URL',
    api_key_env: 'FIREWORKS_API_KEY',
  }),
  deepseek: provider({
    type: 'openai',
    base_url: 'https://api.deepseek.com/v1',
    base_url_env: 'DEEPSEEK_BASE_URL',
    api_key_env: 'DEEPSEEK_API_KEY',
    models: ['deepseek-chat', 'deepseek-reasoner'],
  }),
  mistral: provider({
    type: 'openai',
    gen_ai_provider_name: 'mistral_ai',
    base_url: 'https://api.mistral.ai/v1',
    base_url_env: 'MISTRAL_BASE_URL',
    api_key_env: 'MISTRAL_API_KEY',
  }),
  openrouter: provider({
    type: 'openai',
    base_url: 'https://openrouter.ai/api/v1',
    base_url_env: 'OPENROUTER_BASE_URL',
    api_key_env: 'OPENROUTER_API_KEY',
  }),
  // Keyless local servers: offered once their base URL env variable (or `enabled: true`) is set.
  ollama: provider({
    type: 'openai',
    base_url: 'http://127.0.0.1:11434/v1',
    base_url_env: 'OLLAMA_BASE_URL',
    api_key_env: 'OLLAMA_API_KEY',
    requires_api_key: false,
    enabled: false,
  }),
  vllm: provider({
    type: 'openai',
    base_url: 'http://127.0.0.1:8001/v1',
    base_url_env: 'VLLM_BASE_URL',
    api_key_env: 'VLLM_API_KEY',
    requires_api_key: false,
    enabled: false,
  }),
};

/** Every default in one object; the YAML file and env are merged over it. */
export function defaultConfig(): Config {
  return {
    server: {
      // 127.0.0.1 instead when no auth is configured (config/bind.ts, decided in load.ts).
      host: '0.0.0.0',
      port: 8000,
      body_limit_bytes: 10 * 1024 * 1024,
      // Six maximum-size bodies at once, thousands of ordinary ones (≈ 3× this in memory at the peak).
      body_bytes_in_flight: 64 * 1024 * 1024,
      request_timeout_ms: 60_000,
      shutdown_grace_ms: 25_000,
      trust_proxy: false,
      // The RSS sawtooth under load (decision 0157).
      heap_growing_percent: 50,
      // Per-request objects stay young (decision 0187).
      v8_pretenuring: false,
      // The event loop first when the core is busy (decision 0186).
      background_threads_nice: 10,
    },
    log: { level: 'info', bodies: false },
    upstream: {
      timeout_ms: 60_000,
      total_timeout_ms: 180_000,
      stream_idle_timeout_ms: 60_000,
      connect_timeout_ms: 10_000,
      connections_per_origin: 256,
      keep_alive_timeout_ms: 30_000,
      max_response_bytes: 64 * 1024 * 1024,
    },
    retry: { max_attempts: 3, base_delay_ms: 500, max_delay_ms: 30_000 },
    // mode: `keys` when GATEWAY_ADMIN_KEY is set, else `none` (decided in load.ts unless set explicitly).
    auth: {
      mode: 'none',
      keys: [],
      refresh_interval_ms: 5_000,
      lookup_timeout_ms: 5_000,
      negative_cache_ms: 5_000,
      failure_throttle: { per_minute: 30, burst: 30, max_sources: 10_000 },
    },
    rate_limit: {
      enabled: true,
      backend: 'auto',
      default_rate: 10,
      default_capacity: 20,
      tiers: {
        free: {},
        pro: { rate_per_minute: 60, capacity: 120 },
        enterprise: { rate_per_minute: 600, capacity: 1200 },
      },
      max_memory_buckets: 100_000,
      fallback_instances: 1,
    },
    providers: structuredClone(BUILTIN_PROVIDERS),
    routes: {},
    routing: {
      routes_file: null,
      breaker: {
        failure_rate_threshold: 0.5,
        window_ms: 60_000,
        min_requests: 10,
        consecutive_failures: 5,
        cooldown_ms: 30_000,
        half_open_probes: 1,
        expected_ms_per_output_token: 20,
      },
      latency: { ewma_alpha: 0.3, probe_interval_ms: 30_000, epsilon: 0.02 },
      cost_default_output_tokens: 256,
    },
    redis: {
      mode: 'standalone',
      url: null,
      cluster_nodes: [],
      sentinels: [],
      sentinel_name: null,
      username: null,
      sentinel_username: null,
      tls: false,
      sentinel_tls: false,
      tls_ca_file: null,
      command_timeout_ms: 50,
      key_prefix: 'llmgw:',
      breaker_failures: 3,
      breaker_cooldown_ms: 1000,
    },
    database: { url: null, data_dir: './data/pglite' },
    telemetry: { otlp_endpoint: null, service_name: 'llm-gateway', log_body_max_chars: 4096 },
    cache: {
      enabled: true,
      ttl_seconds: 3600,
      max_ttl_seconds: 86_400,
      max_entries: 10_000,
      max_bytes: 64 * 1024 * 1024,
      max_entry_bytes: 1024 * 1024,
      max_temperature: 0,
      single_flight: true,
      scope: 'team',
      compress_above_bytes: 2048,
      semantic: {
        enabled: false,
        max_entries: 1000,
        embedder: 'local',
        embedding_model: 'text-embedding-3-small',
        timeout_ms: 200,
        embedding_queue: 32,
        matcher: 'verifier',
        max_false_hit_rate: 0.01,
        candidates: 5,
        ann_from: 2048,
        ann_connectivity: 16,
        ann_expansion: 64,
      },
    },
    accounting: {
      enabled: true,
      batch_size: 100,
      flush_interval_ms: 1000,
      write_timeout_ms: 5000,
      close_timeout_ms: 5000,
      max_queue: 10_000,
      recheck_interval_ms: 5000,
      spool_dir: null,
      daily_alert_threshold_usd: null,
      alert_webhook_url: null,
      alert_webhook_timeout_ms: 3000,
      retention_days: null,
      partitions_ahead_days: 3,
      maintenance_interval_ms: 3_600_000,
    },
    pricing: { models: {} },
    budgets: {
      default: { daily_usd: null, monthly_usd: null },
      users: {},
      default_max_output_tokens: 4096,
      unpriced_reservation_usd: null,
      outage_share: 0.1,
    },
    guardrails: { default_policy: null, phone_regions: ['US', 'GB'], policies: {} },
    tenancy: {
      end_user: {
        daily_budget_usd: null,
        monthly_budget_usd: null,
        total_budget_usd: null,
        rpm_limit: null,
        tpm_limit: null,
      },
    },
    prompts: { enabled: true, cache_ttl_ms: 5000, max_cached: 1000 },
    feedback: { metrics: {} },
  };
}
