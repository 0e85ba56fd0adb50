/**
 * The embedded database's pool (`src/stores/pglite-pool.ts`, decision 0196): a statement marked with
 * `preparedMarker` is parsed once and then only executed, in the same session and transaction as the
 * statements around it; errors in it reject that statement only; the usage writer's statement is the marked
 * one and loses no record across rollbacks, replays and failures.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { warmUpRow } from '../../src/accounting/writer-warmup.js';
import { type Db, migrate } from '../../src/stores/database.js';
import { openNamedClient, pglitePool, preparedMarker, preparedName } from '../../src/stores/pglite-pool.js';
import type { DatabaseSchema } from '../../src/stores/schema.js';
import { ensurePartitions, partitionName } from '../../src/stores/usage-partitions.js';
import { insertUsageBatch, type UsageRow } from '../../src/stores/usage-rollups.js';

/** A record of a plain chat request (the writer's warm-up row, with its own id). */
function row(i: number): UsageRow {
  return { ...warmUpRow('2026-03-01T10:00:00.000Z'), request_id: `req-${i}`, model: 'gpt-4o-mini' };
}

let db: Db;

before(async () => {
  db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool: pglitePool('memory://') }) });
  await migrate(db);
});
after(async () => {
  await db.destroy();
});

const prepared = async () =>
  (
    await sql<{ name: string; prepare_time: Date }>`
      select name, prepare_time from pg_prepared_statements order by name`.execute(db)
  ).rows;
const records = async () =>
  (await sql<{ n: number }>`select count(*)::int as n from usage_records`.execute(db)).rows[0]?.n;
const teamRequests = async () =>
  (await sql<{ n: number }>`select coalesce(sum(requests), 0)::int as n from usage_daily_team`.execute(db))
    .rows[0]?.n;

test('a marker names a plain identifier; other text is not marked', () => {
  assert.equal(preparedName(`${preparedMarker('usage_batch')}select 1`), 'usage_batch');
  assert.equal(preparedName('select 1 /* prepared: x */'), null);
  assert.equal(preparedName('/* prepared: unterminated'), null);
  assert.throws(() => preparedMarker('x; drop table t'), /not a plain identifier/);
});

test("the usage writer's statement is prepared once on PGlite and every batch is written", async () => {
  assert.equal(await insertUsageBatch(db, [row(1), row(2)]), 2);
  const first = await prepared();
  assert.deepEqual(
    first.map((p) => p.name),
    ['usage_batch'],
  );
  assert.equal(await insertUsageBatch(db, [row(3)]), 1);
  assert.equal(await insertUsageBatch(db, [row(3), row(4)]), 1, 'a replayed record is not counted twice');
  const again = await prepared();
  assert.deepEqual(again, first, 'the same statement, not prepared again');
  assert.equal(await records(), 4);
  assert.equal(await teamRequests(), 4);
});

test('a rolled-back transaction keeps nothing; the next batch in and out of transactions is written', async () => {
  const before = await records();
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      assert.equal(await insertUsageBatch<DatabaseSchema>(trx, [row(10)]), 1);
      // Seen inside the transaction: the named statement runs in the same session.
      const inside = await sql<{ n: number }>`select count(*)::int as n from usage_records`.execute(trx);
      assert.equal(inside.rows[0]?.n, (before ?? 0) + 1);
      throw new Error('roll back');
    }),
    /roll back/,
  );
  assert.equal(await records(), before);
  await db.transaction().execute(async (trx) => {
    await insertUsageBatch<DatabaseSchema>(trx, [row(10)]);
  });
  assert.equal(await insertUsageBatch(db, [row(11)]), 1);
  assert.equal(await records(), (before ?? 0) + 2);
});

test('an error in a named statement rejects it alone; the connection and the statement go on working', async () => {
  const marked = (divisor: number) =>
    sql<{ q: number }>`${sql.raw(preparedMarker('divide'))}select (10 / ${divisor}::int)::int as q`.execute(
      db,
    );
  assert.equal((await marked(2)).rows[0]?.q, 5);
  await assert.rejects(marked(0), /division by zero/);
  assert.equal((await marked(5)).rows[0]?.q, 2);
  // An error inside a transaction aborts it; the rollback leaves the session usable for both kinds of statement.
  await assert.rejects(
    db.transaction().execute(async (trx) => {
      await insertUsageBatch<DatabaseSchema>(trx, [row(20)]);
      await sql`${sql.raw(preparedMarker('divide'))}select (10 / ${0}::int)::int as q`.execute(trx);
    }),
    /division by zero/,
  );
  const n = await records();
  assert.equal(
    await insertUsageBatch(db, [row(20)]),
    1,
    'the rolled-back record is written by the next batch',
  );
  assert.equal(await records(), (n ?? 0) + 1);
  assert.equal((await sql<{ one: number }>`select 1 as one`.execute(db)).rows[0]?.one, 1);
});

test('a partition created after the statement was prepared receives its day’s records', async () => {
  const where = async (requestId: string) =>
    (
      await sql<{ part: string }>`
        select tableoid::regclass::text as part from usage_records where request_id = ${requestId}`.execute(
        db,
      )
    ).rows[0]?.part;
  assert.equal(await insertUsageBatch(db, [{ ...row(30), timestamp: '2026-03-05T08:00:00.000Z' }]), 1);
  assert.equal(await where('req-30'), 'usage_records_default');
  assert.deepEqual(await ensurePartitions(db, ['2026-03-06']), ['2026-03-06']);
  assert.equal(await insertUsageBatch(db, [{ ...row(31), timestamp: '2026-03-06T08:00:00.000Z' }]), 1);
  assert.equal(await where('req-31'), partitionName('2026-03-06'));
  assert.equal((await prepared()).length, 2, 'still the same prepared statements (usage_batch, divide)');
});

test('a new named-statement client starts from a clean session (a broken one’s statements are dropped)', async () => {
  const { PGlite } = await import('@electric-sql/pglite');
  const lite = await PGlite.create();
  try {
    const first = await openNamedClient(lite);
    await first.query({ name: 'answer', text: 'select 41 + $1::int as n', values: [1] });
    // The first client is gone (as after an 'error'); the session still holds its statement.
    const second = await openNamedClient(lite);
    const { rows } = await second.query({ name: 'answer', text: 'select 41 + $1::int as n', values: [1] });
    assert.deepEqual(rows, [{ n: 42 }]);
  } finally {
    await lite.close();
  }
});
