/**
 * 0007: spend analytics at scale (DESIGN §8, issue 16; decisions 0105–0107).
 *
 * - `usage_records` gains `org_id`, `team_id` (from the key's principal) and `tags` (text[]), and becomes a
 *   table partitioned by UTC day (`partition by range (timestamp)`), one partition per day named
 *   `usage_records_pYYYYMMDD` plus `usage_records_default` (a row whose day has no partition yet still goes
 *   in; the partition maintenance moves it out when it creates that day). A partitioned table's unique keys
 *   must contain the partition key: the idempotency key is now `(request_id, timestamp)` — a record keeps its
 *   timestamp through the queue, the spool and every retry, so a replayed batch still conflicts.
 * - The existing rows are kept: the old table is renamed, the partitions for its days are created, the rows
 *   are copied (ids and the id sequence too) and the old table is dropped — in the migration's transaction.
 * - Daily rollups, maintained by the usage writer in the statement that inserts the records
 *   (accounting/rollups.ts): `usage_daily_team` (day × org × team × model × provider),
 *   `usage_daily_key` (… × key × user) and `usage_daily_tag` (… × tag). An absent org/team/key is `''`
 *   (primary-key columns cannot be null); reports turn it back into null.
 *
 * The same on PostgreSQL and PGlite (both support declarative partitioning).
 */
import { type Kysely, sql } from 'kysely';
import { rebuildDay } from '../usage-rollups.js';

const DAY_MS = 86_400_000;

/** Columns copied from the old table (the ones migrations 0002–0005 made). */
const OLD_COLUMNS = [
  'id',
  'timestamp',
  'request_id',
  'user_id',
  'api_key_id',
  'model',
  'provider',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost_usd',
  'cached',
  'cache_type',
  'saved_usd',
  'latency_ms',
  'status',
  'http_status',
  'estimated',
  'stream',
  'prompt_name',
  'prompt_version',
  'client_request_id',
  'endpoint',
  'guardrails',
];

const METRICS = sql.raw(`
  requests bigint not null default 0,
  cost_usd numeric(20, 6) not null default 0,
  saved_usd numeric(20, 6) not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  cached_requests bigint not null default 0,
  unpriced_requests bigint not null default 0`);

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table usage_records rename to usage_records_legacy`.execute(db);
  for (const [from, to] of [
    ['usage_records_pkey', 'usage_records_legacy_pkey'],
    ['usage_records_request_id_key', 'usage_records_legacy_request_id_key'],
    ['usage_records_timestamp_idx', 'usage_records_legacy_timestamp_idx'],
    ['usage_records_user_timestamp_idx', 'usage_records_legacy_user_timestamp_idx'],
  ]) {
    await sql`alter index if exists ${sql.ref(from as string)} rename to ${sql.ref(to as string)}`.execute(
      db,
    );
  }
  await sql`alter sequence usage_records_id_seq owned by none`.execute(db);
  await sql`
    create table usage_records (
      id bigint not null default nextval('usage_records_id_seq'),
      timestamp timestamptz not null default now(),
      request_id text not null,
      user_id text not null,
      api_key_id text,
      model text not null,
      provider text,
      input_tokens integer not null default 0,
      output_tokens integer not null default 0,
      cached_input_tokens integer not null default 0,
      cost_usd numeric(12, 6),
      cached boolean not null default false,
      cache_type text,
      saved_usd numeric(12, 6) not null default 0,
      latency_ms integer not null default 0,
      status text not null,
      http_status integer not null,
      estimated boolean not null default false,
      stream boolean not null default false,
      prompt_name text,
      prompt_version integer,
      client_request_id text,
      endpoint text,
      guardrails text,
      org_id text,
      team_id text,
      tags text[],
      constraint usage_records_pkey primary key (request_id, timestamp)
    ) partition by range (timestamp)`.execute(db);
  await sql`create index usage_records_timestamp_idx on usage_records (timestamp)`.execute(db);
  await sql`create index usage_records_user_timestamp_idx on usage_records (user_id, timestamp)`.execute(db);
  await sql`create table usage_records_default partition of usage_records default`.execute(db);

  const days = await sql<{ day: string }>`
    select distinct to_char(timestamp at time zone 'UTC', 'YYYY-MM-DD') as day from usage_records_legacy`.execute(
    db,
  );
  for (const { day } of days.rows) {
    const start = Date.parse(`${day}T00:00:00Z`);
    const name = `usage_records_p${day.replaceAll('-', '')}`;
    const from = new Date(start).toISOString();
    const to = new Date(start + DAY_MS).toISOString();
    await sql`create table ${sql.ref(name)} partition of usage_records for values from (${sql.lit(from)}) to (${sql.lit(to)})`.execute(
      db,
    );
  }
  const columns = sql.raw(OLD_COLUMNS.map((c) => `"${c}"`).join(', '));
  await sql`insert into usage_records (${columns}) select ${columns} from usage_records_legacy`.execute(db);
  await sql`drop table usage_records_legacy`.execute(db);
  await sql`alter sequence usage_records_id_seq owned by usage_records.id`.execute(db);

  await sql`
    create table usage_daily_team (
      day date not null, org_id text not null, team_id text not null, model text not null, provider text not null,
      ${METRICS},
      primary key (day, org_id, team_id, model, provider)
    )`.execute(db);
  await sql`
    create table usage_daily_key (
      day date not null, org_id text not null, team_id text not null, api_key_id text not null,
      user_id text not null, model text not null, provider text not null,
      ${METRICS},
      primary key (day, org_id, team_id, api_key_id, user_id, model, provider)
    )`.execute(db);
  await sql`
    create table usage_daily_tag (
      day date not null, tag text not null, org_id text not null, team_id text not null,
      api_key_id text not null, user_id text not null, model text not null, provider text not null,
      ${METRICS},
      primary key (day, tag, org_id, team_id, api_key_id, user_id, model, provider)
    )`.execute(db);
  // The rollups of the rows kept, with the statement the writer uses.
  for (const { day } of days.rows) await rebuildDay(db, day);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table usage_daily_tag`.execute(db);
  await sql`drop table usage_daily_key`.execute(db);
  await sql`drop table usage_daily_team`.execute(db);
  await sql`alter sequence usage_records_id_seq owned by none`.execute(db);
  await sql`alter table usage_records rename to usage_records_partitioned`.execute(db);
  await sql`alter index usage_records_pkey rename to usage_records_partitioned_pkey`.execute(db);
  await sql`alter index usage_records_timestamp_idx rename to usage_records_partitioned_timestamp_idx`.execute(
    db,
  );
  await sql`alter index usage_records_user_timestamp_idx rename to usage_records_partitioned_user_timestamp_idx`.execute(
    db,
  );
  await sql`
    create table usage_records (
      id bigint primary key default nextval('usage_records_id_seq'),
      timestamp timestamptz not null default now(),
      request_id text not null unique,
      user_id text not null, api_key_id text, model text not null, provider text,
      input_tokens integer not null default 0, output_tokens integer not null default 0,
      cached_input_tokens integer not null default 0, cost_usd numeric(12, 6),
      cached boolean not null default false, cache_type text,
      saved_usd numeric(12, 6) not null default 0, latency_ms integer not null default 0,
      status text not null, http_status integer not null, estimated boolean not null default false,
      stream boolean not null default false, prompt_name text, prompt_version integer,
      client_request_id text, endpoint text, guardrails text
    )`.execute(db);
  await sql`create index usage_records_timestamp_idx on usage_records (timestamp)`.execute(db);
  await sql`create index usage_records_user_timestamp_idx on usage_records (user_id, timestamp)`.execute(db);
  const columns = sql.raw(OLD_COLUMNS.map((c) => `"${c}"`).join(', '));
  await sql`insert into usage_records (${columns}) select ${columns} from usage_records_partitioned on conflict (request_id) do nothing`.execute(
    db,
  );
  await sql`drop table usage_records_partitioned`.execute(db);
  await sql`alter sequence usage_records_id_seq owned by usage_records.id`.execute(db);
}
