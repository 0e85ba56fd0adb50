/**
 * The money sections of the configuration (DESIGN §7–§8): usage records and alerts (`accounting`), price
 * overrides (`pricing`) and budgets. Part of `ConfigSchema` (schema.ts), which re-exports them.
 */
import { Type as T } from '@sinclair/typebox';

const Usd = T.Number({ minimum: 0 });

/** Usage records, cost headers and the daily cost alert (DESIGN §8). */
export const AccountingSchema = T.Object(
  {
    /** Write usage records (cost headers and metrics are always on). */
    enabled: T.Boolean({ default: true }),
    /** Records per insert; a batch is written as soon as this many are queued. */
    batch_size: T.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    /** Longest a record waits in memory before its batch is written. */
    flush_interval_ms: T.Integer({ minimum: 10, default: 1000 }),
    /** Longest wait for one insert before its batch goes to the spool file. */
    write_timeout_ms: T.Integer({ minimum: 1, default: 5000 }),
    /** Bound on flushing the queue at shutdown. */
    close_timeout_ms: T.Integer({ minimum: 0, default: 5000 }),
    /** Most records held in memory; beyond it (database slow or down) records spill to the spool file. */
    max_queue: T.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
    /** Longest wait before the database is tried again after a failed write (backoff starts at 250 ms). */
    recheck_interval_ms: T.Integer({ minimum: 10, default: 5000 }),
    /** Directory of the spool files (USAGE_SPOOL_DIR); null = `spool/` next to the PGlite data directory. */
    spool_dir: T.Union([T.String({ minLength: 1 }), T.Null()], { default: null }),
    /** USD per UTC day; crossing it logs one warning and counts llm_cost_alerts_total (DAILY_COST_ALERT_THRESHOLD). */
    daily_alert_threshold_usd: T.Union([Usd, T.Null()], { default: null }),
    /** Optional webhook POSTed once per day when the threshold is crossed (COST_ALERT_WEBHOOK_URL). */
    alert_webhook_url: T.Union([T.String({ format: 'uri' }), T.Null()], { default: null }),
    alert_webhook_timeout_ms: T.Integer({ minimum: 1, default: 3000 }),
    /**
     * Days of usage records kept (USAGE_RETENTION_DAYS): older day partitions are dropped; the daily rollups
     * (and so the reports) are kept. null = keep every record.
     */
    retention_days: T.Union([T.Integer({ minimum: 1, maximum: 36_500 }), T.Null()], { default: null }),
    /** Day partitions created ahead of today (USAGE_PARTITIONS_AHEAD_DAYS). */
    partitions_ahead_days: T.Integer({ minimum: 1, maximum: 90, default: 3 }),
    /** How often partitions are created ahead and the retention applied (USAGE_MAINTENANCE_INTERVAL_MS). */
    maintenance_interval_ms: T.Integer({ minimum: 1000, default: 3_600_000 }),
  },
  { additionalProperties: false },
);

export const PriceSchema = T.Object(
  { input: Usd, output: Usd, cached_input: T.Optional(Usd), cache_write: T.Optional(Usd) },
  { additionalProperties: false },
);

/** Per-model price overrides (USD per 1M tokens) over the built-in table. */
export const PricingSchema = T.Object(
  { models: T.Record(T.String({ minLength: 1 }), PriceSchema, { default: {} }) },
  { additionalProperties: false },
);

export const BudgetLimitSchema = T.Object(
  {
    daily_usd: T.Optional(T.Union([Usd, T.Null()])),
    monthly_usd: T.Optional(T.Union([Usd, T.Null()])),
  },
  { additionalProperties: false },
);

/** USD budgets per user (and, through the API keys, per key), enforced by escrow (DESIGN §7). */
export const BudgetsSchema = T.Object(
  {
    /** Budget of every user without an entry in `users` (BUDGET_DEFAULT_DAILY_USD / _MONTHLY_USD). */
    default: BudgetLimitSchema,
    users: T.Record(T.String({ minLength: 1 }), BudgetLimitSchema, { default: {} }),
    /** Output tokens reserved when a request sets no max_tokens (BUDGET_DEFAULT_MAX_OUTPUT_TOKENS). */
    default_max_output_tokens: T.Integer({ minimum: 1, default: 4096 }),
    /** Reserved for a model that is not priced: null = such requests are not held to a budget. */
    unpriced_reservation_usd: T.Union([Usd, T.Null()], { default: null }),
    /**
     * Redis unavailable: share of a budget's remaining amount (limit − last known spend) one instance may
     * spend until Redis is back (decision 0087; worst case N instances × share).
     */
    outage_share: T.Number({ minimum: 0, maximum: 1, default: 0.1 }),
  },
  { additionalProperties: false },
);
