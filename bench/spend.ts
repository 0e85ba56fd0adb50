/**
 * `npm run bench:spend` — spend analytics at scale (issue 16, DESIGN §8) on a real PostgreSQL
 * (DATABASE_URL, default the local server), in a fresh database dropped at the end:
 *
 * 1. generates N usage records (default 10,000,000) over 90 UTC days with `generate_series` inserts, one
 *    day at a time (20 orgs, 200 teams, 2,000 keys/users, 10 models, 30 % of records tagged);
 * 2. builds their daily rollups with the writer's own statement (`rebuildRollups`, the code behind
 *    `llm-gateway spend rebuild-rollups`), timed;
 * 3. starts the gateway on that database and times `GET /admin/spend` over the 90 days grouped by team, by
 *    model (target < 300 ms), and a few more shapes, over HTTP (median and max of --queries runs);
 * 4. measures the usage writer's throughput with rollups: the UsageRecorder itself, 100,000 records queued
 *    at once and flushed with `batch_size` 1,000 and 100 (the default; a backlog is written up to 1,000
 *    per insert either way), and at a steady offered rate (--writer-rate, default 6,000 records/s) with the
 *    default settings (target ≥ 5,000 records/s).
 *
 * Options: --records <n> (default 10000000), --days <n> (default 90), --queries <n> (default 7),
 * --writer-records <n> (default 100000), --keep (do not drop the database), --out <file.json>.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type UsageRecord, UsageRecorder } from '../src/accounting/recorder.js';
import { loadConfig } from '../src/config/load.js';
import { systemClock } from '../src/core/clock.js';
import { createGateway } from '../src/gateway.js';
import { openDatabase } from '../src/stores/database.js';
import { ensurePartitions } from '../src/stores/usage-partitions.js';
import { dayOf, rebuildRollups } from '../src/stores/usage-rollups.js';
import { createLogger } from '../src/telemetry/logger.js';
import { createMetrics } from '../src/telemetry/metrics.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '10000000' },
    days: { type: 'string', default: '90' },
    queries: { type: 'string', default: '7' },
    'writer-records': { type: 'string', default: '100000' },
    'writer-rate': { type: 'string', default: '6000' },
    'writer-seconds': { type: 'string', default: '15' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RECORDS = Number(values.records);
const DAYS = Number(values.days);
const QUERIES = Number(values.queries);
const WRITER_RECORDS = Number(values['writer-records']);
const WRITER_RATE = Number(values['writer-rate']);
const WRITER_SECONDS = Number(values['writer-seconds']);
const DAY_MS = 86_400_000;
const BASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const FIRST_DAY = Date.UTC(2026, 0, 1);
const LAST_DAY = FIRST_DAY + (DAYS - 1) * DAY_MS;
const ADMIN = `bench-admin-${randomBytes(8).toString('hex')}`;
const clock = systemClock;

const log = (text: string) => process.stderr.write(`${text}\n`);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

async function main() {
  const name = `gw_bench_spend_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(BASE_URL);
  url.pathname = `/${name}`;
  const dbUrl = url.toString();
  const results: Record<string, unknown> = {
    date: new Date(clock.wallNow()).toISOString(),
    records: RECORDS,
    days: DAYS,
    postgres: (await admin.query<{ v: string }>('select version() as v')).rows[0]?.v,
  };
  const logger = createLogger({ level: 'warn' });
  const metrics = createMetrics({ processMetrics: false });
  const database = openDatabase({ url: dbUrl, dataDir: 'memory://' }, { logger, metrics });
  try {
    await database.ready;
    const days = Array.from({ length: DAYS }, (_, d) => dayOf(FIRST_DAY + d * DAY_MS));
    await ensurePartitions(database.db, [...days, dayOf(clock.wallNow())]);

    // 1. Records.
    const gen = new pg.Client({ connectionString: dbUrl });
    await gen.connect();
    await gen.query('set synchronous_commit = off');
    const perDay = Math.ceil(RECORDS / DAYS);
    let started = clock.now();
    for (let d = 0; d < DAYS; d++) {
      const n = Math.min(perDay, RECORDS - d * perDay);
      if (n <= 0) break;
      await gen.query(
        `insert into usage_records ("timestamp", request_id, user_id, api_key_id, model, provider,
           input_tokens, output_tokens, cost_usd, saved_usd, cached, status, http_status, latency_ms, org_id, team_id, tags)
         select $1::timestamptz + (g::bigint * 86399000 / $2) * interval '1 millisecond',
           'bench-' || $3 || '-' || g, 'user-' || k, 'key-' || k, 'model-' || m,
           'provider-' || (m % 4), 200 + (g % 800), 50 + (g % 400), ((200 + g % 800) * (m + 1) * 0.000001)::numeric(12, 6),
           0, g % 50 = 0, 'success', 200, 300 + g % 500, 'org-' || (k % 200 % 20), 'team-' || (k % 200),
           case when g % 10 < 3 then array['tag-' || (g / 10 % 20)] end
         from (select g, (g * 7919) % 2000 as k, ((g * 7919) % 2000 + g % 3) % 10 as m
               from generate_series(0, $2 - 1) g) s`,
        [new Date(FIRST_DAY + d * DAY_MS).toISOString(), n, d],
      );
      if (d % 10 === 9) log(`records: ${d + 1}/${DAYS} days, ${seconds(clock.now() - started)} s`);
    }
    await gen.query('analyze usage_records');
    await gen.end();
    const generateMs = clock.now() - started;
    results.generate_seconds = seconds(generateMs);
    log(`generated ${RECORDS} records in ${seconds(generateMs)} s`);

    // 2. Rollups, with the writer's statement.
    started = clock.now();
    const rebuilt = await rebuildRollups(database.db, {
      startDay: days[0] as string,
      endDay: days.at(-1) as string,
    });
    const rebuildMs = clock.now() - started;
    const sizes = await admin.query(`select 1`); // keep the admin connection alive
    void sizes;
    const sizeOf = async (table: string) => {
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      const { rows } = await c.query<{ n: string }>(`select count(*)::text as n from ${table}`);
      await c.end();
      return Number(rows[0]?.n);
    };
    results.rebuild = {
      seconds: seconds(rebuildMs),
      records: rebuilt.records,
      records_per_second: Math.round(rebuilt.records / (rebuildMs / 1000)),
      rows: {
        usage_daily_team: await sizeOf('usage_daily_team'),
        usage_daily_key: await sizeOf('usage_daily_key'),
        usage_daily_tag: await sizeOf('usage_daily_tag'),
      },
    };
    log(`rollups rebuilt in ${seconds(rebuildMs)} s: ${JSON.stringify(results.rebuild)}`);

    // 3. The report API, over HTTP.
    const env = { DATABASE_URL: dbUrl, AUTH_MODE: 'none', GATEWAY_ADMIN_KEY: ADMIN, LOG_LEVEL: 'warn' };
    const gateway = await createGateway({ config: loadConfig({ env }), env, clock });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = gateway.app.server.address() as { port: number };
    const range = `start_date=${dayOf(FIRST_DAY)}&end_date=${dayOf(LAST_DAY)}`;
    const shapes: Record<string, string> = {
      'group_by=team': `group_by=team&${range}`,
      'group_by=model': `group_by=model&${range}`,
      'group_by=org,day': `group_by=org,day&${range}`,
      'group_by=key (top 10)': `group_by=key&limit=10&${range}`,
      'group_by=tag': `group_by=tag&${range}`,
      'group_by=model, team_id filter': `group_by=model&team_id=team-7&${range}`,
      [`costs/summary (${DAYS} days)`]: '',
    };
    const api: Record<string, { median_ms: number; max_ms: number; rows: number }> = {};
    for (const [label, query] of Object.entries(shapes)) {
      const path = query === '' ? `/admin/costs/summary?${range}` : `/admin/spend?${query}`;
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < QUERIES; i++) {
        const t0 = clock.now();
        const res = await fetch(`http://127.0.0.1:${port}${path}`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        const body = (await res.json()) as { data?: unknown[]; cost_by_model?: object };
        times.push(clock.now() - t0);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
        rows = body.data?.length ?? Object.keys(body.cost_by_model ?? {}).length;
      }
      times.sort((a, b) => a - b);
      api[label] = {
        median_ms: Math.round((times[Math.floor(times.length / 2)] as number) * 10) / 10,
        max_ms: Math.round((times.at(-1) as number) * 10) / 10,
        rows,
      };
      log(`${label}: ${JSON.stringify(api[label])}`);
    }
    results.api = api;
    await gateway.close(2000);

    // 4. The writer's throughput, with rollups (today's partition exists, as the maintenance makes it).
    const writer: Record<
      string,
      { records: number; seconds: number; records_per_second: number } & Record<string, number>
    > = {};
    for (const batchSize of [1000, 100]) {
      const spoolDir = mkdtempSync(join(tmpdir(), 'bench-spend-spool-'));
      const recorder = new UsageRecorder({
        database: () => database,
        spoolDir,
        batchSize,
        flushIntervalMs: 3_600_000,
        maxQueue: WRITER_RECORDS + 1,
        recheckIntervalMs: 5000,
        writeTimeoutMs: 60_000,
        closeTimeoutMs: 60_000,
        logger,
        metrics,
      });
      const now = new Date(clock.wallNow()).toISOString();
      const t0 = clock.now();
      for (let i = 0; i < WRITER_RECORDS; i++) {
        recorder.record(benchRecord(now, `writer-${batchSize}-${i}`, i));
      }
      await recorder.flush();
      const ms = clock.now() - t0;
      await recorder.close();
      rmSync(spoolDir, { recursive: true, force: true });
      if (recorder.pending !== 0) throw new Error(`the writer left ${recorder.pending} records pending`);
      writer[`batch_size=${batchSize}`] = {
        records: WRITER_RECORDS,
        seconds: seconds(ms),
        records_per_second: Math.round(WRITER_RECORDS / (ms / 1000)),
      };
      log(`writer, batch ${batchSize}: ${JSON.stringify(writer[`batch_size=${batchSize}`])}`);
    }
    // Steady offered rate, default settings (batch_size 100, flush every second): does the writer keep up?
    {
      const spoolDir = mkdtempSync(join(tmpdir(), 'bench-spend-spool-'));
      const recorder = new UsageRecorder({
        database: () => database,
        spoolDir,
        batchSize: 100,
        flushIntervalMs: 1000,
        maxQueue: 10_000,
        recheckIntervalMs: 5000,
        writeTimeoutMs: 5000,
        closeTimeoutMs: 60_000,
        logger,
        metrics,
      });
      const total = WRITER_RATE * WRITER_SECONDS;
      const tickMs = 20;
      const perTick = Math.round((WRITER_RATE * tickMs) / 1000);
      let offered = 0;
      let maxInMemory = 0;
      const t0 = clock.now();
      while (offered < total) {
        const due = Math.min(total, Math.floor(((clock.now() - t0) / 1000) * WRITER_RATE) + perTick);
        const now = new Date(clock.wallNow()).toISOString();
        for (; offered < due; offered++) recorder.record(benchRecord(now, `steady-${offered}`, offered));
        maxInMemory = Math.max(maxInMemory, recorder.inMemory);
        await new Promise((resolve) => setTimeout(resolve, tickMs));
      }
      const offeredMs = clock.now() - t0;
      await recorder.flush();
      const ms = clock.now() - t0;
      const spooled = recorder.pending;
      await recorder.close();
      rmSync(spoolDir, { recursive: true, force: true });
      writer['steady, default settings'] = {
        records: total,
        seconds: seconds(ms),
        records_per_second: Math.round(total / (ms / 1000)),
        offered_per_second: Math.round(total / (offeredMs / 1000)),
        max_in_memory: maxInMemory,
        spooled_at_end: spooled,
      };
      log(`writer, steady: ${JSON.stringify(writer['steady, default settings'])}`);
    }
    results.writer = writer;
    results.load_average_end = (await import('node:os')).loadavg().map((l) => Math.round(l * 10) / 10);
  } finally {
    await database.close();
    if (!values.keep) await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  const text = JSON.stringify(results, null, 2);
  process.stdout.write(`${text}\n`);
  if (values.out) writeFileSync(values.out, `${text}\n`);
}

/** One synthetic record of the writer benchmark. */
function benchRecord(timestamp: string, requestId: string, i: number): UsageRecord {
  const k = (i * 7919) % 2000;
  return {
    timestamp,
    request_id: requestId,
    user_id: `user-${k}`,
    api_key_id: `key-${k}`,
    model: `model-${k % 10}`,
    provider: `provider-${k % 4}`,
    input_tokens: 200,
    output_tokens: 50,
    cached_input_tokens: 0,
    cost_usd: '0.000400',
    cached: false,
    cache_type: null,
    saved_usd: '0.000000',
    latency_ms: 300,
    status: 'success',
    http_status: 200,
    estimated: false,
    stream: false,
    prompt_name: null,
    prompt_version: null,
    org_id: `org-${(k % 200) % 20}`,
    team_id: `team-${k % 200}`,
    tags: i % 10 < 3 ? [`tag-${((i / 10) % 20) | 0}`] : null,
  };
}

await main();
