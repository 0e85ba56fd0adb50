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
  user_id: string;
  tier: string;
  /** JSON array of model names or aliases; `[]` = every model. */
  allowed_models: string;
  daily_budget_usd: Numeric;
  monthly_budget_usd: Numeric;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** Id of the key this one replaced (rotation). */
  rotated_from: string | null;
  last_used_at: Timestamp | null;
  created_at: Timestamp;
  /** JSON array of guardrail policy names (migration 0005); `[]` = none. */
  guardrails: ColumnType<string, string | undefined, string>;
}

/** `audit_log` (migration 0001): one row per admin action; never a secret. */
export interface AuditLogTable {
  id: Generated<number>;
  at: Timestamp;
  actor: string;
  action: string;
  target: string | null;
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
  /** The prompt, experiment and variant that served (migration 0008); null when none. */
  prompt_id?: string | null;
  experiment_id?: string | null;
  variant?: string | null;
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
  /** JSON: `[{id, item}]`, this request's input items. */
  input_items: string;
  /** JSON: the conversation before this request (earlier inputs and outputs), as input items. */
  history: string;
  /** JSON: the Response object. */
  response: string;
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
  prompts: PromptTable;
  prompt_versions: PromptVersionTable;
  prompt_labels: PromptLabelTable;
  experiments: ExperimentTable;
  feedback: FeedbackTable;
};
