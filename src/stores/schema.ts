/**
 * Table types for Kysely. Each feature adds its tables here, next to its migration in `migrations/`.
 */

import type { ColumnType, Generated } from 'kysely';

/** NUMERIC comes back as a string (exact); written as a number or string. */
type Numeric = ColumnType<string, number | string, number | string>;

/** `usage_records` (migration 0002): one row per completion or embedding request. */
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
  saved_usd: Numeric;
  latency_ms: number;
  /** `success`, `error` or `incomplete` (a stream cut off after its first byte). */
  status: string;
  http_status: number;
  estimated: boolean;
  stream: boolean;
  prompt_name: string | null;
  prompt_version: number | null;
}

export type DatabaseSchema = {
  usage_records: UsageRecordTable;
};
