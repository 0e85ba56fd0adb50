/**
 * Where a proxy's latency tail comes from, over time: each request's latency by the moment it was sent,
 * at a fixed rate, shown as a strip of 10 ms bins, beside what the process and its database did meanwhile
 * (garbage collection by kind from the gateway's own `nodejs_gc_duration_seconds`, the database's
 * statements from `pg_stat_database`, CPU per request from /proc). Percentiles say how long the tail is;
 * the strip says whether it is a spike every 100 ms (a batch), a stretch of hundreds of milliseconds (the
 * CPU shared with something), or single requests (a pause). This is how the usage writer's small inserts
 * were found (decision 0204).
 *
 * Method: the mock upstream and the load generator on CPU 0, the gateway on CPU 1, the local PostgreSQL
 * pinned to CPU 0 as in `npm run bench` (decision 0201). `--features prod` (default) is the bench's
 * `ours-prod`: API keys and usage records in a fresh PostgreSQL database, a rate limit in memory, a daily
 * budget, info logs; `--features none` is the gateway with rate limit and usage records off. Each build
 * (this one, `--baseline REV`) gets `--warm` requests in a closed loop (V8's compiler done, decision 0198),
 * then `--seconds` at `--rate`, in `--rounds` alternating rounds.
 *
 *   npm run bench:tail                                   # this build, production features, 1,000 req/s
 *   npm run bench:tail -- --baseline HEAD~1 --rounds 3   # A/B
 *   npm run bench:tail -- --env USAGE_ENABLED=false      # one feature off
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { missSpec, percentiles, runAtRate, warmUp } from './lib/loadgen.js';
import { treeCpuSeconds } from './lib/procstat.js';
import { pinServices } from './lib/services.js';
import { buildsToCompare, envPairs, REPO_ROOT, startGateway, startMock } from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '15' },
    warm: { type: 'string', default: '15000' },
    rounds: { type: 'string', default: '1' },
    features: { type: 'string', default: 'prod' },
    baseline: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
    // Seconds of each build's last round drawn as a strip (10 ms bins, 100 a line).
    strip: { type: 'string', default: '3' },
    'postgres-url': {
      type: 'string',
      default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
  },
});
const RATE = Number(opts.rate);
const SECONDS = Number(opts.seconds);
if (opts.features !== 'prod' && opts.features !== 'none') {
  throw new Error(`--features takes prod or none, not ${opts.features}`);
}
const prod = opts.features === 'prod';

interface Measured {
  latencies: number[];
  /** Latency by request index (sent every 1000 / RATE ms). */
  byIndex: Float64Array;
  cpuUsPerRequest: number | null;
  statementsPerSecond: number | null;
  /** GC by kind over the window: count and total ms. */
  gc: Map<string, { count: number; ms: number }>;
}

/** `nodejs_gc_duration_seconds` count and sum by kind, from the gateway's /metrics. */
async function gcTotals(origin: string): Promise<Map<string, { count: number; ms: number }>> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  const out = new Map<string, { count: number; ms: number }>();
  for (const m of text.matchAll(/^nodejs_gc_duration_seconds_(sum|count)\{kind="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const entry = out.get(m[2] as string) ?? { count: 0, ms: 0 };
    if (m[1] === 'sum') entry.ms = Number(m[3]) * 1000;
    else entry.count = Number(m[3]);
    out.set(m[2] as string, entry);
  }
  return out;
}

async function statements(client: pg.Client | null, database: string): Promise<number | null> {
  if (!client) return null;
  const { rows } = await client.query<{ n: string }>(
    'select xact_commit + xact_rollback as n from pg_stat_database where datname = $1',
    [database],
  );
  return rows[0] ? Number(rows[0].n) : null;
}

async function measure(origin: string, pid: number, headers: Record<string, string>): Promise<Measured> {
  const spec = missSpec(origin, false);
  spec.headers = { ...spec.headers, ...headers };
  await warmUp(spec, Number(opts.warm), { maxMs: 60_000 });
  await runAtRate(spec, { rate: RATE, durationMs: 2000 });
  const total = Math.floor(SECONDS * RATE);
  const byIndex = new Float64Array(total).fill(Number.NaN);
  const [gc0, st0, cpu0] = [await gcTotals(origin), await statements(admin, database), treeCpuSeconds(pid)];
  const result = await runAtRate(spec, {
    rate: RATE,
    durationMs: SECONDS * 1000,
    onLatency: (ms, i) => {
      if (i < total) byIndex[i] = ms;
    },
  });
  const [gc1, st1, cpu1] = [await gcTotals(origin), await statements(admin, database), treeCpuSeconds(pid)];
  const gc = new Map<string, { count: number; ms: number }>();
  for (const [kind, after] of gc1) {
    const before = gc0.get(kind) ?? { count: 0, ms: 0 };
    if (after.count > before.count) {
      gc.set(kind, { count: after.count - before.count, ms: after.ms - before.ms });
    }
  }
  return {
    latencies: Array.from(byIndex).filter((v) => !Number.isNaN(v)),
    byIndex,
    cpuUsPerRequest: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) * 1e6) / result.ok : null,
    // The window's statements (the scrapes' own connection adds none: it is another database).
    statementsPerSecond: st0 !== null && st1 !== null ? (st1 - st0) / SECONDS : null,
    gc,
  };
}

/** One character per 10 ms bin: the slowest request sent in it. */
function strip(byIndex: Float64Array): string[] {
  const perBin = Math.max(1, Math.round(RATE / 100));
  const bins = Math.min(Math.floor(byIndex.length / perBin), Number(opts.strip) * 100);
  let line = '';
  for (let b = 0; b < bins; b++) {
    let worst = 0;
    // A request that failed (NaN) has no latency to show: skipped, not drawn as the slowest.
    for (let i = b * perBin; i < (b + 1) * perBin; i++)
      if ((byIndex[i] as number) > worst) worst = byIndex[i] as number;
    line += worst < 2 ? '.' : worst < 4 ? 'o' : worst < 10 ? 'O' : worst < 30 ? '#' : '@';
  }
  return line.match(/.{1,100}/g) ?? [];
}

mkdirSync(join(REPO_ROOT, 'bench/.tmp'), { recursive: true });
const dir = mkdtempSync(join(REPO_ROOT, 'bench/.tmp/tail-'));
const builds = buildsToCompare(dir, opts.baseline);

const apiKey = `sk-bench-${randomBytes(16).toString('hex')}`;
const database = `llmgw_tail_${randomBytes(4).toString('hex')}`;
const admin = prod ? new pg.Client({ connectionString: opts['postgres-url'] }) : null;
const services = await pinServices('0', { postgres: opts['postgres-url'], redis: null });
const mock = await startMock('mock', dir, '0', { chunks: 20 });
const results = new Map<string, Measured[]>(builds.map(([name]) => [name, []]));
try {
  if (admin) {
    await admin.connect();
    await admin.query(`create database ${database}`);
  }
  const url = new URL(opts['postgres-url']);
  url.pathname = `/${database}`;
  const env = {
    ...(prod
      ? {
          RATE_LIMIT_ENABLED: 'true',
          RATE_LIMIT_DEFAULT_RATE: '100000000',
          RATE_LIMIT_DEFAULT_CAPACITY: '100000000',
          USAGE_ENABLED: 'true',
          DATABASE_URL: url.href,
          BUDGET_DEFAULT_DAILY_USD: '1000000',
        }
      : { RATE_LIMIT_ENABLED: 'false', USAGE_ENABLED: 'false' }),
    ...envPairs(opts.env),
  };
  const yaml = prod
    ? `auth:\n  mode: keys\n  keys:\n    - name: bench\n      key_sha256: ${createHash('sha256').update(apiKey).digest('hex')}\n      user_id: bench-user\n`
    : undefined;
  const headers: Record<string, string> = prod ? { authorization: `Bearer ${apiKey}` } : {};
  for (let round = 0; round < Number(opts.rounds); round++) {
    // Alternating order, so a drift of the machine over a round does not favour one build.
    const order = round % 2 === 0 ? builds : [...builds].reverse();
    for (const [name, entry] of order) {
      const proc = await startGateway('gateway', dir, '1', mock.origin, { env, entry, yaml });
      try {
        results.get(name)?.push(await measure(proc.origin, proc.child.pid as number, headers));
      } finally {
        await proc.stop();
      }
    }
  }
} finally {
  await mock.stop();
  services.restore();
  if (admin) {
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
    await admin.end();
  }
}

const fmt = (v: number | null, digits = 0) => (v === null ? '—' : v.toFixed(digits));
console.log(
  `Latency tail at ${RATE} req/s, ${SECONDS} s per round, features: ${opts.features}${opts.env.length ? ` (${opts.env.join(' ')})` : ''}; ${services.note}\n`,
);
console.log(
  '| build | round | p50 ms | p99 ms | > 4 ms | > 10 ms | CPU µs/req | DB statements/s | GC (count, ms) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const [name, rounds] of results) {
  rounds.forEach((m, r) => {
    const p = percentiles(m.latencies);
    const share = (limit: number) =>
      `${((100 * m.latencies.filter((v) => v > limit).length) / m.latencies.length).toFixed(1)} %`;
    const gc = [...m.gc].map(([kind, g]) => `${kind} ${g.count}, ${g.ms.toFixed(0)}`).join('; ');
    console.log(
      `| ${name} | ${r + 1} | ${p.p50.toFixed(3)} | ${p.p99.toFixed(3)} | ${share(4)} | ${share(10)} | ${fmt(m.cpuUsPerRequest)} | ${fmt(m.statementsPerSecond, 1)} | ${gc} |`,
    );
  });
}
console.log(
  '\nSlowest request sent in each 10 ms bin (. < 2 ms, o < 4, O < 10, # < 30, @ ≥ 30), last round:\n',
);
for (const [name, rounds] of results) {
  const last = rounds.at(-1);
  if (!last) continue;
  console.log(`${name}:\n\`\`\`\n${strip(last.byIndex).join('\n')}\n\`\`\``);
}
rmSync(dir, { recursive: true, force: true });
process.exit(0);
