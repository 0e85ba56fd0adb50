/**
 * Table types for Kysely. Each feature adds its tables here, next to its migration in `migrations/`.
 */

import type { ColumnType, Generated } from 'kysely';

/** Timestamps: written as Date (or left to the default), read as Date. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** NUMERIC comes back as a string (exact); written as a number. */
type Numeric = ColumnType<string | null, number | null | undefined, number | null>;

/** `api_keys` (migration 0001). */
export interface ApiKeyTable {
  id: string;
  name: string;
  /** Hex SHA-256 of the whole key; the key itself is never stored. */
  key_hash: string;
  /** Visible start of the key (`sk-gw-AbCdEf`), to tell keys apart. */
  key_prefix: string;
  /** The key's fixed end user; null for a team or org key without one (migration 0006). */
  user_id: string | null;
  tier: string;
  /** JSON array of model names or aliases; `[]` = every model. */
  allowed_models: string;
  daily_budget_usd: Numeric;
  monthly_budget_usd: Numeric;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** Id of the key this one replaced (rotation). */
  rotated_from: string | null;
  /** The first key of this key's rotation chain (null: never rotated, its own): budgets and state go by it. */
  lineage_id: string | null;
  last_used_at: Timestamp | null;
  created_at: Timestamp;
  /** JSON array of guardrail policy names (migration 0005); `[]` = none. */
  guardrails: ColumnType<string, string | undefined, string>;
  /** Tenancy (migration 0006): team and organization, role, limits, end users, metadata. */
  team_id: ColumnType<string | null, string | null | undefined, string | null>;
  org_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** `user`, `team_admin` or `org_admin`. */
  role: ColumnType<string, string | undefined, string>;
  total_budget_usd: Numeric;
  rpm_limit: ColumnType<number | null, number | null | undefined, number | null>;
  tpm_limit: ColumnType<number | null, number | null | undefined, number | null>;
  /** JSON of the limits of each end user the key names (`EndUserLimits`), null = the team's/org's/config's. */
  end_user_limits: ColumnType<string | null, string | null | undefined, string | null>;
  /** Whether the request's `user` field (or `X-User-ID`) names the end user. */
  allow_end_users: ColumnType<boolean, boolean | undefined, boolean>;
  /** JSON object of string values. */
  metadata: ColumnType<string, string | undefined, string>;
}

/** `organizations` and `teams` (migration 0006): a level of the tenancy tree with its limits. */
export interface LevelTable {
  id: string;
  name: string;
  daily_budget_usd: Numeric;
  monthly_budget_usd: Numeric;
  total_budget_usd: Numeric;
  rpm_limit: number | null;
  tpm_limit: number | null;
  /** JSON array; `[]` = every model. */
  allowed_models: ColumnType<string, string | undefined, string>;
  /** JSON of the default limits of each end user under this level; null = inherited. */
  end_user_limits: string | null;
  /** JSON array of guardrail policy names for every key in the level (migration 0013); `[]` = none. */
  guardrails: ColumnType<string, string | undefined, string>;
  metadata: ColumnType<string, string | undefined, string>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type OrganizationTable = LevelTable;

export interface TeamTable extends LevelTable {
  org_id: string | null;
}

/** `audit_log` (migration 0001): one row per admin action; never a secret. */
export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string | null;
  /** Organization and team the action touched (migration 0006), for org and team admins' views. */
  org_id?: string | null;
  team_id?: string | null;
  /** JSON object with the action's parameters (no secret). */
  details: string | null;
  request_id: string | null;
}

/** `usage_records` (migrations 0002, 0003): one row per completion or embedding request. */
export interface UsageRecordTable {
  id: Generated<number>;
  timestamp: ColumnType<Date, Date | string | undefined, never>;
  request_id: string;
  user_id: string;
  api_key_id: string | null;
  model: string;
  provider: string | null;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** null = the model is not priced. */
  cost_usd: ColumnType<string | null, number | string | null, number | string | null>;
  cached: boolean;
  cache_type: string | null;
  /** NUMERIC(12,6): read as a string (exact), written as a number or string. */
  saved_usd: ColumnType<string, number | string, number | string>;
  latency_ms: number;
  /** `success`, `error` or `incomplete` (a stream cut off after its first byte). */
  status: string;
  http_status: number;
  estimated: boolean;
  stream: boolean;
  prompt_name: string | null;
  prompt_version: number | null;
  /** JSON of the guardrail actions taken (entity, action, direction, policy, count), never a value (0005). */
  guardrails?: string | null;
  /** The client's `X-Request-ID` (migration 0003); never unique. */
  client_request_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Inbound API: `chat`, `embeddings` (migration 0003); null on older rows. */
  endpoint: ColumnType<string | null, string | null | undefined, string | null>;
  /** The model or alias the client asked for (migration 0010); null on older rows. */
  route?: ColumnType<string | null, string | null | undefined, string | null>;
  /** The key's organization and team; the request's tags (migration 0007). */
  org_id?: string | null;
  team_id?: string | null;
  tags?: ColumnType<string[] | null, readonly string[] | null | undefined, readonly string[] | null>;
  /** The prompt, experiment and variant that served (migration 0008); null when none. */
  prompt_id?: string | null;
  experiment_id?: string | null;
  variant?: string | null;
}

/** Metrics of a daily rollup row (migration 0007); sums come back as strings (NUMERIC) or numbers (BIGINT). */
interface RollupMetrics {
  day: ColumnType<Date, string, string>;
  org_id: string;
  team_id: string;
  model: string;
  provider: string;
  requests: number;
  cost_usd: string;
  saved_usd: string;
  input_tokens: number;
  output_tokens: number;
  cached_requests: number;
  unpriced_requests: number;
}

/** `usage_daily_team`: day × org × team × model × provider (absent org/team = ''). */
export type UsageDailyTeamTable = RollupMetrics;
/** `usage_daily_key`: … × key × user. */
export interface UsageDailyKeyTable extends RollupMetrics {
  api_key_id: string;
  user_id: string;
}
/** `usage_daily_tag`: … × tag (a record with two tags counts under both). */
export interface UsageDailyTagTable extends UsageDailyKeyTable {
  tag: string;
}

/** `stored_responses` (migration 0004): Responses API answers kept with `store: true`. */
export interface StoredResponseTable {
  /** `resp_…` (the gateway's, or OpenAI's for a native answer). */
  id: string;
  /** Who may read it: the API key id, else `user:<end user>`. */
  scope: string;
  created_at: Timestamp;
  model: string;
  status: string;
  /** The response also lives at OpenAI (answered natively and stored there): chains forward its id. */
  native: boolean;
  previous_response_id: string | null;
  /** The `Deployment.id` that answered a native response (migration 0014); null when translated or older. */
  deployment: string | null;
  /** JSON: `[{id, item}]`, this request's input items. */
  input_items: string;
  /** JSON: the conversation before this request (earlier inputs and outputs), as input items. */
  history: string;
  /** JSON: the Response object. */
  response: string;
}

/** `console_sessions` (migration 0010): signed-in console sessions; the session id itself is never stored. */
export interface ConsoleSessionTable {
  /** Hex SHA-256 of the session id (the cookie's value). */
  id_hash: string;
  /** JSON of the AdminActor the session acts as. */
  actor: string;
  /** Hex SHA-256 of the admin key the session was opened with. */
  key_digest: string;
  csrf_token: string;
  created_at: Timestamp;
  expires_at: Timestamp;
}

/** `prompts` (migration 0008). */
export interface PromptTable {
  id: string;
  created_at: Timestamp;
  archived_at: Timestamp | null;
}

/** `prompt_versions` (migration 0008): immutable (a trigger refuses UPDATE). JSON in the text columns. */
export interface PromptVersionTable {
  prompt_id: string;
  version: number;
  messages: string;
  variables: string;
  model: string | null;
  params: string;
  note: string | null;
  created_at: Timestamp;
}

/** `prompt_labels` (migration 0008). */
export interface PromptLabelTable {
  prompt_id: string;
  label: string;
  version: number;
  updated_at: Timestamp;
}

/** `experiments` (migration 0008). */
export interface ExperimentTable {
  id: string;
  status: string;
  /** JSON array of variants. */
  variants: string;
  sticky_by: string;
  holdout: number;
  prompt_id: string | null;
  label: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `feedback` (migration 0008): one row per (request, metric, caller scope). */
export interface FeedbackTable {
  request_id: string;
  metric: string;
  scope: string;
  value: number;
  comment: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type DatabaseSchema = {
  api_keys: ApiKeyTable;
  audit_log: AuditLogTable;
  usage_records: UsageRecordTable;
  stored_responses: StoredResponseTable;
  organizations: OrganizationTable;
  teams: TeamTable;
  eval_runs: EvalRunTable;
  eval_results: EvalResultTable;
  console_sessions: ConsoleSessionTable;
  usage_daily_team: UsageDailyTeamTable;
  usage_daily_key: UsageDailyKeyTable;
  usage_daily_tag: UsageDailyTagTable;
  prompts: PromptTable;
  prompt_versions: PromptVersionTable;
  prompt_labels: PromptLabelTable;
  experiments: ExperimentTable;
  feedback: FeedbackTable;
};

/** `eval_runs` (migration 0009): one evaluation run (`llm-gateway eval run --admin-key`). */
export interface EvalRunTable {
  id: string;
  name: string | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** `running`, `finished`, `failed` (a gate failed). */
  status: string;
  dataset: string;
  dataset_sha256: string;
  item_count: number;
  /** JSON: the target names, in order. */
  targets: string;
  judge: string | null;
  /** JSON: concurrency, metrics, judge prompt versions, cache bypass. */
  settings: string;
  /** JSON: per-target metric summaries, set when the run finishes. */
  summary: string | null;
}

/** `eval_results` (migration 0009): one item × target of a run. */
export interface EvalResultTable {
  run_id: string;
  item_id: string;
  target: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  error: string | null;
  /** JSON: metric id → value. */
  scores: string;
  latency_ms: number | null;
  ttft_ms: number | null;
  cost_usd: ColumnType<string | null, number | string | null, number | string | null>;
  input_tokens: number | null;
  output_tokens: number | null;
  /** JSON: the whole result record (answer, judge reasoning, …), as in results.jsonl. */
  record: string;
}
