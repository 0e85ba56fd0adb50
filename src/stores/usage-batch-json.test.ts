import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import pino from 'pino';
import { warmUpRow } from '../accounting/writer-warmup.js';
import { createMetrics } from '../telemetry/metrics.js';
import { type Database, openDatabase } from './database.js';
import {
  insertUsageBatch,
  insertUsageJson,
  joinUsageBatch,
  storedRecordJson,
  type UsageRow,
  usageBatchJson,
  usageRecordJson,
} from './usage-rollups.js';

/** A record with every column set, some of them null (the writer's warm-up record). */
function row(overrides: Partial<UsageRow> = {}): UsageRow {
  return { ...warmUpRow('2026-12-06T20:50:00.123Z'), ...overrides };
}

/** A record with every column set and none null. */
function fullRow(requestId: string): UsageRow {
  return row({
    request_id: requestId,
    api_key_id: 'key_1',
    provider: 'openai',
    cost_usd: '0.000123',
    cached: true,
    cache_type: 'semantic',
    saved_usd: '0.000456',
    prompt_name: 'support',
    prompt_version: 3,
    guardrails: '[{"action":"mask"}]',
    client_request_id: 'client-1',
    endpoint: 'responses',
    route: 'fast',
    org_id: 'org_1',
    team_id: 'team_1',
    tags: ['a', 'b'],
    prompt_id: 'support',
    experiment_id: 'exp_1',
    variant: 'B',
    estimated: true,
    stream: true,
    status: 'incomplete',
    http_status: 502,
  });
}

let database: Database;
before(async () => {
  database = openDatabase(
    { url: null, dataDir: 'memory://' },
    { logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) },
  );
  await database.ready;
});
after(() => database.close());

/** The stored row of a request id, its values as the record holds them. */
async function stored(requestId: string): Promise<Record<string, unknown>> {
  const { rows } = await sql<Record<string, unknown>>`
    select to_char("timestamp" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "timestamp",
      request_id, user_id, api_key_id, model, provider, input_tokens, output_tokens, cached_input_tokens,
      to_char(cost_usd, 'FM0.000000') as cost_usd, cached, cache_type,
      case when saved_usd = 0 then '0' else to_char(saved_usd, 'FM0.000000') end as saved_usd, latency_ms,
      status, http_status, estimated, stream, prompt_name, prompt_version, guardrails, client_request_id,
      endpoint, route, org_id, team_id, tags, prompt_id, experiment_id, variant
    from usage_records where request_id = ${requestId}`.execute(database.db);
  assert.equal(rows.length, 1, `one row for ${requestId}`);
  return rows[0] as Record<string, unknown>;
}

test('every column written from the short-key text reads back as the record had it, nulls included', async () => {
  const full = fullRow('full-1');
  const sparse = row({ request_id: 'sparse-1', output_tokens: 0, client_request_id: '' });
  assert.equal(await insertUsageBatch(database.db, [full, sparse]), 2);
  assert.deepEqual(await stored('full-1'), { ...full });
  assert.deepEqual(await stored('sparse-1'), { ...sparse });
});

test('a record text leaves out null fields and keeps false, 0, empty strings and tags', () => {
  const text = usageRecordJson(row({ output_tokens: 0, client_request_id: '', api_key_id: null }));
  assert.doesNotMatch(text, /null/);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.equal(parsed.o, 0);
  assert.equal(parsed.h, false);
  assert.equal(parsed.cr, '');
  assert.deepEqual(parsed.tg, ['warm-up']);
  assert.equal('k' in parsed, false);
  // About half the length of the same record with column names.
  assert.ok(text.length < 0.6 * JSON.stringify(row()).length, `${text.length} characters`);
});

test('a batch is the records joined as one JSON array', () => {
  const rows = [row({ request_id: 'r1' }), row({ request_id: 'r2' })];
  assert.equal(usageBatchJson(rows), joinUsageBatch(rows.map(usageRecordJson)));
  assert.deepEqual(
    (JSON.parse(usageBatchJson(rows)) as Array<{ id: string }>).map((r) => r.id),
    ['r1', 'r2'],
  );
  assert.equal(joinUsageBatch([]), '[]');
});

test('strings jsonb refuses (NUL, lone surrogates) become U+FFFD; an escaped backslash before u stays', async () => {
  const text = usageRecordJson(row({ model: 'a\u0000b\ud800c', user_id: 'x\\u0000y' }));
  const parsed = JSON.parse(text) as { m: string; u: string };
  assert.equal(parsed.m, 'a\ufffdb\ufffdc');
  assert.equal(parsed.u, 'x\\u0000y');
  // And the database takes it.
  assert.equal(
    await insertUsageJson(database.db, joinUsageBatch([text.replace('warm-up-rolled-back', 'nul-1')])),
    1,
  );
});

test('spool lines of both forms become the writer text: short keys, and the column names of older files', () => {
  const record = fullRow('old-1');
  const fromOld = storedRecordJson(JSON.parse(JSON.stringify(record)));
  assert.deepEqual(fromOld, { json: usageRecordJson(record), timestamp: record.timestamp });
  const fromNew = storedRecordJson(JSON.parse(usageRecordJson(record)));
  assert.deepEqual(fromNew, { json: usageRecordJson(record), timestamp: record.timestamp });
  // An old line with a NUL is made safe too.
  const withNul = storedRecordJson({ ...record, model: 'a\u0000' });
  assert.match(withNul?.json ?? '', /"m":"a\\ufffd"/);
  for (const notRecord of [null, 3, 'x', [], {}, { id: 1, ts: 'x' }, { request_id: 'r' }])
    assert.equal(storedRecordJson(notRecord), null, JSON.stringify(notRecord));
});

test('a batch written twice (a replay) inserts nothing the second time', async () => {
  const batch = joinUsageBatch([usageRecordJson(row({ request_id: 'twice-1' }))]);
  assert.equal(await insertUsageJson(database.db, batch), 1);
  assert.equal(await insertUsageJson(database.db, batch), 0);
});
