/**
 * What writing usage records to PostgreSQL costs the gateway's process, per record, by batch size: the
 * writer's own statement (`insertUsageJson`: the records and their three rollups in one statement) on a
 * fresh database, CPU time of this process (user and system) and wall time per batch. The gateway writes a
 * batch when `batch_size` records wait or every `flush_interval_ms` (docs/cost-tracking.md). As in the
 * recorder, each record's text is made first (when a request is recorded; reported apart) and a flush joins
 * the texts and writes them: the per-batch figure is what one flush holds the event loop for (decision 0202).
 *
 *   npm run bench:usage-write -- --batch 100 --batches 200      # DATABASE_URL, default the local PostgreSQL
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { warmUpRow } from '../src/accounting/writer-warmup.js';
import { type Db, migrate } from '../src/stores/database.js';
import {
  insertUsageBatch,
  insertUsageJson,
  joinUsageBatch,
  type UsageRow,
  usageRecordJson,
} from '../src/stores/usage-rollups.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '100' },
    batches: { type: 'string', default: '200' },
  },
});
const BATCH = Number(values.batch);
const BATCHES = Number(values.batches);
const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `llmgw_usage_write_${Date.now()}`;

/** A record as a plain chat request leaves it (no tenant, tags, prompt or guardrails). */
const record = (): UsageRow => ({
  ...warmUpRow(new Date().toISOString()),
  request_id: randomUUID(),
  user_id: 'user-1',
  api_key_id: 'key-1',
  model: 'gpt-4o-mini',
  provider: 'openai',
  input_tokens: 12,
  output_tokens: 30,
  cost_usd: '0.000020',
  route: 'gpt-4o-mini',
  org_id: null,
  team_id: null,
  tags: null,
});

const admin = new pg.Client({ connectionString: base });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(base);
url.pathname = `/${name}`;
const db = new Kysely({
  dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url.href }) }),
});
try {
  await migrate(db as unknown as Db);
  // Warm-up: the statement's code paths in this process and the server's caches.
  for (let i = 0; i < 20; i++) await insertUsageBatch(db, Array.from({ length: BATCH }, record));
  const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH }, record));
  // Each record's text is made when the request is recorded (on its own request's time), ...
  const json0 = process.cpuUsage();
  const texts = batches.map((rows) => rows.map(usageRecordJson));
  const json = process.cpuUsage(json0);
  // ... and a batch is joined and written when it is flushed: what one flush holds the event loop for.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const batch of texts) await insertUsageJson(db, joinUsageBatch(batch));
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  const perRecord = (cpu.user + cpu.system) / (BATCHES * BATCH);
  process.stdout.write(
    `batch ${BATCH} × ${BATCHES}: per batch ${(cpu.user / BATCHES).toFixed(0)} µs user + ${(cpu.system / BATCHES).toFixed(0)} µs system, ` +
      `${((wallMs / BATCHES) * 1000).toFixed(0)} µs wall; per record ${perRecord.toFixed(2)} µs CPU ` +
      `(+ ${((json.user + json.system) / (BATCHES * BATCH)).toFixed(2)} µs to make its text when recorded)\n`,
  );
} finally {
  await db.destroy();
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
