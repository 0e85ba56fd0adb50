/**
 * The `prompts` and `feedback` config sections (DESIGN §12; docs/prompts.md): how long a prompt label or an
 * experiment is cached in memory, how many compiled versions are kept, and the feedback metrics
 * applications may report (`POST /v1/feedback`).
 */
import { type Static, Type as T } from '@sinclair/typebox';

export const PromptsSchema = T.Object(
  {
    /** Serve `prompt` references, `/v1/prompts/{id}/completions` and experiments (PROMPTS_ENABLED). */
    enabled: T.Boolean({ default: true }),
    /**
     * How long a label → version lookup and an experiment are cached per instance (PROMPTS_CACHE_TTL_MS).
     * A change made through this instance applies at once; another instance sees it within this time.
     */
    cache_ttl_ms: T.Integer({ minimum: 0, maximum: 3_600_000, default: 5000 }),
    /** Most compiled versions (and cached labels, experiments) kept in memory each. */
    max_cached: T.Integer({ minimum: 1, maximum: 100_000, default: 1000 }),
  },
  { additionalProperties: false },
);

export const FeedbackMetricSchema = T.Object(
  {
    /** `boolean` (true/false, or 1/0) or `numeric`. */
    type: T.Union([T.Literal('boolean'), T.Literal('numeric')]),
    /** Which way is better (the report's "probability of being best"); default `higher` (applied by the
     * report: config defaults do not reach into the values of a record). */
    direction: T.Optional(T.Union([T.Literal('higher'), T.Literal('lower')])),
    /** Numeric metrics: the accepted range (inclusive); absent = any number within ±1e15 (decision 0226). */
    min: T.Optional(T.Number()),
    max: T.Optional(T.Number()),
  },
  { additionalProperties: false },
);

export const FeedbackSchema = T.Object(
  {
    /** Metric name → declaration. Feedback on an undeclared metric is a 422. */
    metrics: T.Record(T.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }), FeedbackMetricSchema, { default: {} }),
  },
  { additionalProperties: false },
);

export type PromptsConfig = Static<typeof PromptsSchema>;
export type FeedbackConfig = Static<typeof FeedbackSchema>;
export type FeedbackMetric = Static<typeof FeedbackMetricSchema>;
