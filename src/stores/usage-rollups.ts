/**
 * The usage writer's statement and the daily rollups (DESIGN §8, decision 0106).
 *
 * One SQL statement inserts a batch of usage records and adds exactly the rows it inserted to the three
 * rollup tables (`usage_daily_team`, `usage_daily_key`, `usage_daily_tag`):
 *
 *   with ins as (insert into usage_records … on conflict (request_id, timestamp) do nothing returning …),
 *        src as (select day, org, team, … from ins),
 *        t as (insert into usage_daily_team … select … from src group by … on conflict do update +=),
 *        k as (…), g as (… from src, unnest(tags) …)
 *   select count(*) from src
 *
 * A retried batch (timeout after the commit, spool replay) inserts nothing the second time, so it adds
 * nothing to the rollups: records and rollups never disagree. Rebuilding (`llm-gateway spend
 * rebuild-rollups`) runs the same rollup part with `ins` = the records of one day, after deleting that day's
 * rollups, in one transaction per day. The batch travels as one JSON parameter (`jsonb_to_recordset`): one
 * round trip, no parameter-count limit, the same on PostgreSQL and PGlite.
 *
 * Rollup rows are upserted in key order (`order by`), so concurrent writers lock them in the same order
 * (no deadlock between instances).
 *
 * The writer's statement text is the same for every batch; on the embedded database it is prepared once
 * (`preparedMarker`, decision 0196), which saved about a fifth of PGlite's cost per record.
 */
import { CompiledQuery, type Kysely, type RawBuilder, sql } from 'kysely';
import { isoOf } from '../core/clock.js';
import { preparedMarker } from './pglite-pool.js';

/** One row of `usage_records` as the recorder queues and spools it and the writer takes it. */
export interface UsageRow {
  timestamp: string;
  /** The gateway's own request id (UUIDv7): the uniqueness key that makes writes idempotent. */
  request_id: string;
  user_id: string;
  api_key_id: string | null;
  model: string;
  provider: string | null;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** USD with 6 decimals, as a string (exact); null when the model is not priced. */
  cost_usd: string | null;
  cached: boolean;
  cache_type: string | null;
  saved_usd: string;
  latency_ms: number;
  status: 'success' | 'error' | 'incomplete';
  http_status: number;
  estimated: boolean;
  stream: boolean;
  prompt_name: string | null;
  prompt_version: number | null;
  /** JSON of the guardrail actions taken (never a matched value); null = none fired. */
  guardrails?: string | null;
  /** The client's `X-Request-ID`; absent in spool files written before migration 0003. */
  client_request_id?: string | null;
  /** The inbound API (`chat`, `embeddings`); absent in older spool files. */
  endpoint?: string | null;
  /** The model or alias the client asked for; absent in older spool files. */
  route?: string | null;
  /** The key's organization and team (migration 0007); absent in older spool files. */
  org_id?: string | null;
  team_id?: string | null;
  /** The request's tags (`metadata.tags`, `X-Gateway-Tags`); null/absent = none. */
  tags?: readonly string[] | null;
  /** The prompt, experiment and variant that served (migration 0008); absent in older spool files. */
  prompt_id?: string | null;
  experiment_id?: string | null;
  variant?: string | null;
}

/**
 * The record columns the writer sets, with their SQL types (the `jsonb_to_recordset` row type) and the short
 * key each has in the batch text and in spool files (`usageRecordJson`): a record's text is about half as
 * long with them (≈ 200 characters instead of ≈ 415 for a plain request), which is less to build, send and
 * for the database to parse (decision 0202).
 */
const RECORD_COLUMNS: ReadonlyArray<readonly [column: string, type: string, key: string]> = [
  ['timestamp', 'timestamptz', 'ts'],
  ['request_id', 'text', 'id'],
  ['user_id', 'text', 'u'],
  ['api_key_id', 'text', 'k'],
  ['model', 'text', 'm'],
  ['provider', 'text', 'p'],
  ['input_tokens', 'integer', 'i'],
  ['output_tokens', 'integer', 'o'],
  ['cached_input_tokens', 'integer', 'ci'],
  ['cost_usd', 'numeric', 'c'],
  ['cached', 'boolean', 'h'],
  ['cache_type', 'text', 'ht'],
  ['saved_usd', 'numeric', 'sv'],
  ['latency_ms', 'integer', 'l'],
  ['status', 'text', 's'],
  ['http_status', 'integer', 'hs'],
  ['estimated', 'boolean', 'e'],
  ['stream', 'boolean', 'st'],
  ['prompt_name', 'text', 'pn'],
  ['prompt_version', 'integer', 'pv'],
  ['guardrails', 'text', 'g'],
  ['client_request_id', 'text', 'cr'],
  ['endpoint', 'text', 'ep'],
  ['org_id', 'text', 'og'],
  ['team_id', 'text', 'tm'],
  ['tags', 'text[]', 'tg'],
  ['route', 'text', 'r'],
  ['prompt_id', 'text', 'pi'],
  ['experiment_id', 'text', 'x'],
  ['variant', 'text', 'v'],
];

const quoted = (names: readonly string[]) => names.map((n) => `"${n}"`).join(', ');
const INSERT_COLUMNS = sql.raw(quoted(RECORD_COLUMNS.map(([column]) => column)));
/** The short keys, in the insert columns' order: what the insert selects from the recordset. */
const RECORDSET_KEYS = sql.raw(quoted(RECORD_COLUMNS.map(([, , key]) => key)));
const RECORDSET_TYPE = sql.raw(RECORD_COLUMNS.map(([, type, key]) => `"${key}" ${type}`).join(', '));
/** What the rollups read of a record. */
const ROLLUP_INPUT = sql.raw(
  quoted(['timestamp', 'org_id', 'team_id', 'api_key_id', 'user_id', 'model', 'provider']) +
    ', cost_usd, saved_usd, input_tokens, output_tokens, cached, tags',
);

const AGGREGATES = `count(*), coalesce(sum(cost_usd), 0), coalesce(sum(saved_usd), 0),
  coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),
  count(*) filter (where cached), count(*) filter (where cost_usd is null)`;
const METRIC_COLUMNS = `requests, cost_usd, saved_usd, input_tokens, output_tokens, cached_requests, unpriced_requests`;
const ADD_METRICS = METRIC_COLUMNS.split(', ')
  .map((m) => `${m} = r.${m} + excluded.${m}`)
  .join(', ');

/** One rollup table: its name and its dimension columns (the primary key). */
interface Rollup {
  table: string;
  dimensions: readonly string[];
  /** FROM clause over `src` (the tag rollup unnests the tags). */
  from: string;
}

/** The rollup tables and their dimensions (migration 0007). */
export const ROLLUPS: readonly Rollup[] = [
  { table: 'usage_daily_team', dimensions: ['day', 'org_id', 'team_id', 'model', 'provider'], from: 'src' },
  {
    table: 'usage_daily_key',
    dimensions: ['day', 'org_id', 'team_id', 'api_key_id', 'user_id', 'model', 'provider'],
    from: 'src',
  },
  {
    table: 'usage_daily_tag',
    dimensions: ['day', 'tag', 'org_id', 'team_id', 'api_key_id', 'user_id', 'model', 'provider'],
    from: 'src cross join lateral unnest(src.tags) as tag',
  },
];

function rollupCte(rollup: Rollup, name: string): string {
  const dims = rollup.dimensions.join(', ');
  const positions = rollup.dimensions.map((_, i) => i + 1).join(', ');
  return `${name} as (
    insert into ${rollup.table} as r (${dims}, ${METRIC_COLUMNS})
    select ${dims}, ${AGGREGATES} from ${rollup.from}
    group by ${positions} order by ${positions}
    on conflict (${dims}) do update set ${ADD_METRICS}
    returning 1)`;
}

const ROLLUP_CTES = sql.raw(ROLLUPS.map((r, i) => rollupCte(r, `rollup_${i}`)).join(',\n'));

/**
 * The statement: `ins` (records, with the ROLLUP_INPUT columns) added to every rollup. Returns how many
 * records `ins` held. Used by the writer (ins = the insert) and by the rebuild (ins = one day's records).
 */
function rollupStatement(ins: RawBuilder<unknown>, marker = ''): RawBuilder<{ records: number }> {
  return sql<{ records: number }>`${sql.raw(marker)}
    with ins as (${ins}),
    src as (
      select ("timestamp" at time zone 'UTC')::date as day, coalesce(org_id, '') as org_id,
        coalesce(team_id, '') as team_id, coalesce(api_key_id, '') as api_key_id, user_id, model,
        coalesce(provider, '') as provider, cost_usd, saved_usd, input_tokens, output_tokens, cached, tags
      from ins),
    ${ROLLUP_CTES}
    select count(*)::int as records from src`;
}

/** A `\u0000` or lone-surrogate escape in JSON text (not one whose backslash is itself escaped). */
const JSONB_REFUSED = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

/** jsonb refuses `\u0000` and lone surrogates: they become U+FFFD (see `usageRecordJson`). */
function jsonbSafe(json: string): string {
  return json.includes('\\u') ? json.replace(JSONB_REFUSED, '$1\\ufffd') : json;
}

const INT32_MAX = 2_147_483_647;
/** The largest amount a `numeric(12, 6)` column holds. */
const USD12_MAX = 999_999.999999;

/**
 * An `integer` column's value: a whole number in 0…2³¹−1. A count outside it (a provider reporting 3e9
 * tokens or 10.5, a worst-case estimate of n × max_tokens) would make PostgreSQL refuse the whole batch
 * (decision 0214); the record keeps the nearest value it can hold.
 */
function int32(value: number): number {
  if (Number.isInteger(value) && value >= 0 && value <= INT32_MAX) return value;
  return Number.isFinite(value) ? Math.min(INT32_MAX, Math.max(0, Math.round(value))) : 0;
}

/** A `numeric(12, 6)` amount (USD, as text or number), capped at what the column holds. */
function usd12(value: string | number): string | number {
  const n = Number(value);
  if (Number.isFinite(n) && Math.abs(n) <= USD12_MAX) return value;
  return Number.isFinite(n) ? (n < 0 ? -USD12_MAX : USD12_MAX) : 0;
}

/**
 * One record as the writer's JSON text (short keys, see RECORD_COLUMNS), made when the record is queued so
 * that a batch is only joined when it is written; the spool files hold the same lines.
 *
 * - Null fields (11 of 30 in a plain request's record) are left out: `jsonb_to_recordset` reads a missing
 *   key as NULL, and a batch without them cost the embedded database (PGlite) 6–9 % less per record
 *   (docs/performance.md). The short keys did not change PGlite's cost (decision 0202).
 * - Strings PostgreSQL's jsonb refuses (`\u0000`, lone surrogates) become U+FFFD: one such string (a client's
 *   model name) would otherwise fail every batch and every replay of the spool it lands in. (JSON.stringify
 *   escapes exactly these, and only lone surrogates.) Numbers are kept in their columns' range likewise.
 * - An object literal of one shape, with `undefined` for a null: the serialiser's fast path, no replacer
 *   (a replacer calls into JavaScript for every key).
 */
export function usageRecordJson(row: UsageRow): string {
  return jsonbSafe(
    JSON.stringify({
      ts: row.timestamp,
      id: row.request_id,
      u: row.user_id,
      k: row.api_key_id ?? undefined,
      m: row.model,
      p: row.provider ?? undefined,
      i: int32(row.input_tokens),
      o: int32(row.output_tokens),
      ci: int32(row.cached_input_tokens),
      c: row.cost_usd == null ? undefined : usd12(row.cost_usd),
      h: row.cached,
      ht: row.cache_type ?? undefined,
      sv: usd12(row.saved_usd),
      l: int32(row.latency_ms),
      s: row.status,
      hs: int32(row.http_status),
      e: row.estimated,
      st: row.stream,
      pn: row.prompt_name ?? undefined,
      pv: row.prompt_version == null ? undefined : int32(row.prompt_version),
      g: row.guardrails ?? undefined,
      cr: row.client_request_id ?? undefined,
      ep: row.endpoint ?? undefined,
      og: row.org_id ?? undefined,
      tm: row.team_id ?? undefined,
      tg: row.tags ?? undefined,
      r: row.route ?? undefined,
      pi: row.prompt_id ?? undefined,
      x: row.experiment_id ?? undefined,
      v: row.variant ?? undefined,
    }),
  );
}

/**
 * A record read back from a spool file, as the writer's JSON text; null when it is not a record. Takes both
 * forms: the short keys written since decision 0202 and the column names of older spool files.
 */
export function storedRecordJson(value: unknown): { json: string; timestamp: string } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  if (typeof record.request_id === 'string' && typeof record.timestamp === 'string')
    return { json: usageRecordJson(record as unknown as UsageRow), timestamp: record.timestamp };
  if (typeof record.id === 'string' && typeof record.ts === 'string')
    return { json: jsonbSafe(JSON.stringify(record)), timestamp: record.ts };
  return null;
}

/** Records' texts (`usageRecordJson`) as one batch: a JSON array. */
export function joinUsageBatch(records: readonly string[]): string {
  return `[${records.join(',')}]`;
}

/** The batch as the writer's JSON text (see `usageRecordJson`). */
export function usageBatchJson(rows: readonly UsageRow[]): string {
  return joinUsageBatch(rows.map(usageRecordJson));
}

/** The writer's statement is the same text for every batch: prepared once on PGlite (decision 0196). */
const USAGE_BATCH_MARKER = preparedMarker('usage_batch');

/** The writer's statement, compiled once (its only parameter is the batch text). */
let usageBatchSql: string | null = null;

function usageBatchStatement<DB>(db: Kysely<DB>): string {
  if (usageBatchSql === null) {
    const insert = sql`
    insert into usage_records (${INSERT_COLUMNS})
    select ${RECORDSET_KEYS} from jsonb_to_recordset(${'[]'}::jsonb) as x(${RECORDSET_TYPE})
    on conflict (request_id, timestamp) do nothing
    returning ${ROLLUP_INPUT}`;
    const compiled = rollupStatement(insert, USAGE_BATCH_MARKER).compile(db);
    if (compiled.parameters.length !== 1) throw new Error('the usage statement takes one parameter');
    usageBatchSql = compiled.sql;
  }
  return usageBatchSql;
}

/**
 * Inserts a batch (`joinUsageBatch` of `usageRecordJson` texts) and adds the records that were new to the
 * rollups, atomically (one statement). Returns how many records were new (a replayed batch: 0).
 */
export async function insertUsageJson<DB>(db: Kysely<DB>, batch: string): Promise<number> {
  const result = await db.executeQuery<{ records: number }>(
    CompiledQuery.raw(usageBatchStatement(db), [batch]),
  );
  return result.rows[0]?.records ?? 0;
}

/** `insertUsageJson` of rows. */
export async function insertUsageBatch<DB>(db: Kysely<DB>, rows: readonly UsageRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return insertUsageJson(db, usageBatchJson(rows));
}

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of a UTC day start (ms). */
export function dayOf(ms: number): string {
  // isoOf formats each second once (a batch's records share their seconds).
  return isoOf(ms).slice(0, 10);
}

/** The UTC day (`YYYY-MM-DD`) of a timestamp, or null when it is not one. */
export function dayOfTimestamp(timestamp: string): string | null {
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? null : dayOf(ms);
}

/**
 * Replaces the rollups of one UTC day (`YYYY-MM-DD`) by those of its records: run it in a transaction.
 * Returns the day's record count.
 */
export async function rebuildDay<DB>(db: Kysely<DB>, day: string): Promise<number> {
  const from = new Date(`${day}T00:00:00Z`);
  const to = new Date(from.getTime() + DAY_MS);
  for (const { table } of ROLLUPS) {
    await sql`delete from ${sql.table(table)} where day = ${day}::date`.execute(db);
  }
  const ins = sql`select ${ROLLUP_INPUT} from usage_records where "timestamp" >= ${from} and "timestamp" < ${to}`;
  const result = await rollupStatement(ins).execute(db);
  return result.rows[0]?.records ?? 0;
}

/**
 * Rebuilds the rollups of the UTC days `[startDay, endDay]` from the records, one transaction per day
 * (`rebuildDay`). Returns the records and days done; `onDay` reports progress.
 */
export async function rebuildRollups<DB>(
  db: Kysely<DB>,
  range: { startDay: string; endDay: string },
  onDay?: (day: string, records: number) => void,
): Promise<{ records: number; days: number }> {
  let records = 0;
  let days = 0;
  const last = Date.parse(`${range.endDay}T00:00:00Z`);
  for (let ms = Date.parse(`${range.startDay}T00:00:00Z`); ms <= last; ms += DAY_MS) {
    const day = dayOf(ms);
    const done = await db.transaction().execute((trx) => rebuildDay(trx, day));
    records += done;
    days += 1;
    onDay?.(day, done);
  }
  return { records, days };
}

/** The first and last UTC day that have records (null when there are none). */
export async function recordDayRange<DB>(
  db: Kysely<DB>,
): Promise<{ startDay: string; endDay: string } | null> {
  const result = await sql<{ first: Date | null; last: Date | null }>`
    select min("timestamp") as first, max("timestamp") as last from usage_records`.execute(db);
  const row = result.rows[0];
  if (!row?.first || !row.last) return null;
  return { startDay: dayOf(new Date(row.first).getTime()), endDay: dayOf(new Date(row.last).getTime()) };
}
