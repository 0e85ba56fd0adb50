/**
 * Usage records partitioned by day and their daily rollups (migration 0007), on PostgreSQL and PGlite:
 * the migration keeps existing rows, the writer's statement is idempotent with the rollups, partitions are
 * created ahead and dropped after the retention period, and a rebuild gives the rollups the writer made.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Kysely, Migrator, PostgresDialect, type PostgresPool, sql } from 'kysely';
import pg from 'pg';
import { migrationProvider } from '../../src/stores/migrations/index.js';
import { pglitePool } from '../../src/stores/pglite-pool.js';
import type { DatabaseSchema } from '../../src/stores/schema.js';
import {
  daysAround,
  dropPartitionsBefore,
  ensurePartitions,
  partitionDays,
} from '../../src/stores/usage-partitions.js';
import { insertUsageBatch, rebuildRollups, type UsageRow } from '../../src/stores/usage-rollups.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

function row(i: number, over: Partial<UsageRow> = {}): UsageRow {
  return {
    timestamp: '2026-03-01T10:00:00.000Z',
    request_id: `req-${i}`,
    user_id: 'alice',
    api_key_id: 'key-1',
    model: 'gpt-4o-mini',
    provider: 'openai',
    input_tokens: 10,
    output_tokens: 5,
    cached_input_tokens: 0,
    cost_usd: '0.000100',
    cached: false,
    cache_type: null,
    saved_usd: '0.000000',
    latency_ms: 12,
    status: 'success',
    http_status: 200,
    estimated: false,
    stream: false,
    prompt_name: null,
    prompt_version: null,
    org_id: 'org-1',
    team_id: 'team-1',
    tags: null,
    ...over,
  };
}

type Db = Kysely<DatabaseSchema>;
/** The shape the assertions use (`database.db`). */
interface Database {
  db: Db;
}

async function rollupTotals(database: Database, table: string) {
  const { rows } = await sql<{ requests: number; cost: string; input: number }>`
    select coalesce(sum(requests), 0)::int as requests, coalesce(sum(cost_usd), 0)::text as cost,
      coalesce(sum(input_tokens), 0)::int as input from ${sql.table(table)}`.execute(database.db);
  return rows[0];
}

const backends: Array<{
  name: string;
  open: () => Promise<{ pool: PostgresPool; done: () => Promise<void> }>;
}> = [
  {
    name: 'PostgreSQL',
    open: async () => {
      const db: TestDatabase = await createTestDatabase('spend_store');
      const pool = new pg.Pool({ connectionString: db.url, max: 2 }) as unknown as PostgresPool;
      return { pool, done: () => db.drop() };
    },
  },
  { name: 'PGlite', open: async () => ({ pool: pglitePool('memory://'), done: async () => {} }) },
];

const skipPg = await requireServices('postgres');

for (const backend of backends) {
  describe(`usage partitions and rollups on ${backend.name}`, {
    skip: backend.name === 'PostgreSQL' ? skipPg : undefined,
  }, () => {
    let database: Database;
    let done: () => Promise<void>;

    before(async () => {
      const opened = await backend.open();
      done = opened.done;
      const db: Db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: opened.pool }) });
      database = { db };
      // Up to 0005 first, with rows in the old table, then the rest: 0007 must keep them.
      const migrator = new Migrator({ db, provider: migrationProvider });
      assert.equal((await migrator.migrateTo('0005_key_guardrails')).error, undefined);
      await sql`insert into usage_records (timestamp, request_id, user_id, api_key_id, model, provider,
          input_tokens, output_tokens, cost_usd, status, http_status)
        values ('2026-02-27T23:59:59Z', 'req-1', 'alice', 'key-1', 'gpt-4o-mini', 'openai', 10, 5, 0.0001, 'success', 200),
               ('2026-02-28T00:00:00Z', 'req-2', 'alice', 'key-1', 'gpt-4o-mini', 'openai', 10, 5, 0.0001, 'success', 200)`.execute(
        db,
      );
      assert.equal((await migrator.migrateToLatest()).error, undefined);
    });
    after(async () => {
      await database.db.destroy();
      await done();
    });

    test('the migration keeps existing rows, each in its day partition, with their rollups', async () => {
      const { rows } = await sql<{ request_id: string; part: string; id: number }>`
        select request_id, tableoid::regclass::text as part, id from usage_records order by request_id`.execute(
        database.db,
      );
      assert.deepEqual(
        rows.map((r) => [r.request_id, r.part]),
        [
          ['req-1', 'usage_records_p20260227'],
          ['req-2', 'usage_records_p20260228'],
        ],
      );
      assert.deepEqual(await rollupTotals(database, 'usage_daily_team'), {
        requests: 2,
        cost: '0.000200',
        input: 20,
      });
      // The id sequence carries on after the copied ids.
      const next = await sql<{ id: number }>`select nextval('usage_records_id_seq')::int as id`.execute(
        database.db,
      );
      assert.ok((next.rows[0]?.id ?? 0) > Math.max(...rows.map((r) => r.id)));
    });

    test('a retried batch is written once and rolled up once', async () => {
      const batch = [
        row(10, { tags: ['nightly', 'etl'] }),
        row(11, { team_id: 'team-2', tags: ['etl'] }),
        row(12, { user_id: 'bob', api_key_id: null, org_id: null, team_id: null, cost_usd: null }),
      ];
      assert.equal(await insertUsageBatch(database.db, batch), 3);
      // The same batch again (its acknowledgement was lost), plus one new record.
      assert.equal(await insertUsageBatch(database.db, [...batch, row(13)]), 1);
      const team = await sql<{ team_id: string; org_id: string; requests: number; unpriced: number }>`
        select team_id, org_id, requests::int, unpriced_requests::int as unpriced from usage_daily_team
        where day = '2026-03-01' order by team_id`.execute(database.db);
      assert.deepEqual(
        team.rows.map((r) => [r.org_id, r.team_id, r.requests, r.unpriced]),
        [
          ['', '', 1, 1],
          ['org-1', 'team-1', 2, 0],
          ['org-1', 'team-2', 1, 0],
        ],
      );
      const tags = await sql<{ tag: string; requests: number }>`
        select tag, sum(requests)::int as requests from usage_daily_tag where day = '2026-03-01'
        group by tag order by tag`.execute(database.db);
      assert.deepEqual(tags.rows, [
        { tag: 'etl', requests: 2 },
        { tag: 'nightly', requests: 1 },
      ]);
      const stored = await database.db
        .selectFrom('usage_records')
        .select(['tags', 'org_id', 'team_id'])
        .where('request_id', '=', 'req-10')
        .executeTakeFirstOrThrow();
      assert.deepEqual(stored, { tags: ['nightly', 'etl'], org_id: 'org-1', team_id: 'team-1' });
    });

    test('a record with NUL or a lone surrogate is written (U+FFFD), not failing its whole batch', async () => {
      const batch = [
        row(90, { model: 'gpt-4o\u0000x', tags: ['t\ud800'] }),
        row(91, { user_id: 'bob\udc00', prompt_name: 'literal \\u0000 stays' }),
      ];
      assert.equal(await insertUsageBatch(database.db, batch), 2);
      const stored = await database.db
        .selectFrom('usage_records')
        .select(['request_id', 'model', 'user_id', 'tags', 'prompt_name'])
        .where('request_id', 'in', ['req-90', 'req-91'])
        .orderBy('request_id')
        .execute();
      assert.deepEqual(stored, [
        {
          request_id: 'req-90',
          model: 'gpt-4o\ufffdx',
          user_id: 'alice',
          tags: ['t\ufffd'],
          prompt_name: null,
        },
        {
          request_id: 'req-91',
          model: 'gpt-4o-mini',
          user_id: 'bob\ufffd',
          tags: null,
          prompt_name: 'literal \\u0000 stays',
        },
      ]);
      await sql`delete from usage_records where request_id in ('req-90', 'req-91')`.execute(database.db);
      await rebuildRollups(database.db, { startDay: '2026-03-01', endDay: '2026-03-01' });
    });

    test('every field is stored as given: null ones (left out of the batch text) as NULL', async () => {
      const columns = [
        'request_id',
        'cached_input_tokens',
        'cached',
        'estimated',
        'stream',
        'api_key_id',
        'provider',
        'cost_usd',
        'cache_type',
        'prompt_name',
        'prompt_version',
        'guardrails',
        'client_request_id',
        'endpoint',
        'route',
        'org_id',
        'team_id',
        'tags',
        'prompt_id',
        'experiment_id',
        'variant',
      ] as const;
      const allNull = row(92, {
        api_key_id: null,
        provider: null,
        cost_usd: null,
        org_id: null,
        team_id: null,
        guardrails: null,
        client_request_id: null,
        endpoint: null,
        route: null,
        prompt_id: null,
        experiment_id: null,
        variant: null,
      });
      const allSet = row(93, {
        cost_usd: '0.000250',
        cache_type: 'exact',
        prompt_name: 'greeting',
        prompt_version: 3,
        guardrails: '[{"name":"pii","action":"redact"}]',
        client_request_id: 'client-93',
        endpoint: 'chat',
        route: 'fast',
        tags: ['a', 'b'],
        prompt_id: 'prompt-1',
        experiment_id: 'exp-1',
        variant: 'B',
      });
      assert.equal(await insertUsageBatch(database.db, [allNull, allSet]), 2);
      const stored = await database.db
        .selectFrom('usage_records')
        .select([...columns])
        .where('request_id', 'in', ['req-92', 'req-93'])
        .orderBy('request_id')
        .execute();
      const expected = (r: UsageRow) =>
        Object.fromEntries(columns.map((c) => [c, (r as unknown as Record<string, unknown>)[c] ?? null]));
      assert.deepEqual(
        stored.map((s) => ({ ...s, cost_usd: s.cost_usd === null ? null : Number(s.cost_usd).toFixed(6) })),
        [expected(allNull), expected(allSet)],
      );
      await sql`delete from usage_records where request_id in ('req-92', 'req-93')`.execute(database.db);
      await rebuildRollups(database.db, { startDay: '2026-03-01', endDay: '2026-03-01' });
    });

    test('a rebuild gives the rollups the writer made', async () => {
      const snapshot = async () =>
        (
          await sql<{ line: string }>`
            select concat_ws('|', day, org_id, team_id, api_key_id, user_id, model, provider, requests, cost_usd,
              input_tokens, output_tokens, cached_requests, unpriced_requests) as line
            from usage_daily_key order by line`.execute(database.db)
        ).rows.map((r) => r.line);
      const before = await snapshot();
      await sql`update usage_daily_key set requests = requests + 100`.execute(database.db);
      const result = await rebuildRollups(database.db, { startDay: '2026-02-27', endDay: '2026-03-01' });
      assert.deepEqual(result, { records: 6, days: 3 });
      assert.deepEqual(await snapshot(), before);
    });

    test('partitions are created ahead; a row of a missing day waits in the default partition and moves', async () => {
      const now = Date.parse('2026-03-10T15:00:00Z');
      const created = await ensurePartitions(database.db, daysAround(now, 1, 2));
      assert.deepEqual(created, ['2026-03-09', '2026-03-10', '2026-03-11', '2026-03-12']);
      assert.deepEqual(await ensurePartitions(database.db, ['2026-03-10']), []);
      await insertUsageBatch(database.db, [row(20, { timestamp: '2026-03-20T08:00:00.000Z' })]);
      const where = async () =>
        (
          await sql<{ part: string }>`select tableoid::regclass::text as part from usage_records
            where request_id = 'req-20'`.execute(database.db)
        ).rows[0]?.part;
      assert.equal(await where(), 'usage_records_default');
      await ensurePartitions(database.db, ['2026-03-20']);
      assert.equal(await where(), 'usage_records_p20260320');
    });

    test('retention drops whole partitions before the cut-off and keeps the rollups', async () => {
      await insertUsageBatch(database.db, [row(30, { timestamp: '2026-01-05T08:00:00.000Z' })]);
      const dropped = await dropPartitionsBefore(database.db, '2026-03-01');
      assert.deepEqual(dropped, ['2026-02-27', '2026-02-28']);
      const days = await partitionDays(database.db);
      assert.ok(days.length > 0 && days.every((d) => d >= '2026-03-01'), days.join());
      const old = await sql<{ n: number }>`select count(*)::int as n from usage_records
        where "timestamp" < '2026-03-01'`.execute(database.db);
      assert.equal(old.rows[0]?.n, 0, 'the default partition lost its old rows too');
      const rollups = await sql<{ n: number }>`select count(*)::int as n from usage_daily_team
        where day < '2026-03-01'`.execute(database.db);
      assert.ok((rollups.rows[0]?.n ?? 0) >= 2);
    });
  });
}
