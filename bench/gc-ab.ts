/**
 * What V8's young-generation collections cost, this build against another, side by side (decisions
 * 0188–0191). Both gateways run compiled with production features (API keys and usage records in
 * PostgreSQL, a rate limit in memory, a daily budget, info logs) and `--trace-gc-nvp`. The load alternates
 * between them in windows (2 s warm-up, then the measured seconds) at a fixed number of connections, so a
 * machine that drifts moves both alike. Per window it prints throughput, CPU per request (process tree),
 * peak RSS, the number of scavenges, their pauses per 1,000 requests and the median bytes that survived
 * and were promoted per scavenge.
 *
 *   npm run bench:gc -- --baseline 86615b8 [--connections 64] [--windows 3] [--seconds 8] [--stream]
 *                       [--temperature 0] [--env NAME=VALUE]… [--baseline-node-flag=--flag]…
 *
 * `--temperature 0` makes every request cacheable (the exact cache is on by default; each prompt is new, so
 * each request is a miss and a cache write). `--env` applies to both gateways. Both start with the node
 * flags of `npm start`; `--baseline-node-flag` adds flags to the baseline only (with `--baseline HEAD`: one
 * flag measured on one build). Needs PostgreSQL at
 * `--postgres-url`; a database is created and dropped. Load generator and mock upstream run on CPU 0, the
 * gateways on CPU 1, as in `bench/run.ts`.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { runClosedLoop } from './lib/loadgen.js';
import { createKeyViaAdmin } from './lib/probe.js';
import { sampleRss, treeCpuSeconds } from './lib/procstat.js';
import {
  buildGateway,
  buildRevision,
  envPairs,
  type Proc,
  pinSelf,
  REPO_ROOT,
  startGateway,
  startMock,
} from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    baseline: { type: 'string' },
    connections: { type: 'string', default: '64' },
    windows: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '8' },
    stream: { type: 'boolean', default: false },
    temperature: { type: 'string', default: '0.7' },
    env: { type: 'string', multiple: true, default: [] },
    // Node flags for the baseline gateway only, after the ones `npm start` passes (the later value wins):
    // `--baseline HEAD --baseline-node-flag=--max-semi-space-size=16` measures one flag on one build.
    'baseline-node-flag': { type: 'string', multiple: true, default: [] },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});

/** Median of the `key=value` fields of the scavenges' `--trace-gc-nvp` lines. */
function median(lines: readonly string[], key: string): number {
  const pattern = new RegExp(`\\b${key}=([0-9.]+)`);
  const xs = lines
    .map((l) => Number(pattern.exec(l)?.[1]))
    .filter((x) => !Number.isNaN(x))
    .sort((a, b) => a - b);
  return xs.length === 0 ? Number.NaN : (xs[xs.length >> 1] as number);
}

const sum = (lines: readonly string[], key: string): number =>
  lines.reduce((n, l) => n + Number(new RegExp(`\\b${key}=([0-9.]+)`).exec(l)?.[1] ?? 0), 0);

interface Target {
  name: string;
  proc: Proc;
  key: string | null;
  /** The scavenges' nvp lines since the window started. */
  scavenges: string[];
}

const tmp = join(REPO_ROOT, 'bench/.tmp', `gc-ab-${new Date().toISOString().replace(/[:.]/g, '-')}`);
const database = `llmgw_gc_${process.pid}`;
const admin = `bench-admin-${process.pid}-gc`;
const procs: Proc[] = [];

async function main(): Promise<void> {
  pinSelf('0');
  const builds: Array<{ name: string; entry: string }> = [];
  const current = buildGateway(join(tmp, 'dist'));
  if ('error' in current) throw new Error(current.error);
  builds.push({ name: 'this build', entry: current.entry });
  if (opts.baseline) {
    const base = buildRevision(opts.baseline, join(tmp, 'baseline'));
    if ('error' in base) throw new Error(base.error);
    builds.unshift({ name: opts.baseline, entry: base.entry });
  }

  const client = new pg.Client({ connectionString: opts['postgres-url'] });
  await client.connect();
  await client.query(`CREATE DATABASE ${database}`);
  await client.end();
  const url = new URL(opts['postgres-url']);
  url.pathname = `/${database}`;

  const mock = await startMock('mock', tmp, '0', { chunks: 20 });
  procs.push(mock);
  const extra = envPairs(opts.env as string[]);
  const targets: Target[] = [];
  for (const build of builds) {
    const proc = await startGateway(`gateway-${targets.length}`, tmp, '1', mock.origin, {
      entry: build.entry,
      nodeFlags: ['--trace-gc-nvp', ...(build === builds[0] ? (opts['baseline-node-flag'] as string[]) : [])],
      env: {
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_RATE: '100000000',
        RATE_LIMIT_DEFAULT_CAPACITY: '100000000',
        USAGE_ENABLED: 'true',
        DATABASE_URL: url.toString(),
        BUDGET_DEFAULT_DAILY_USD: '1000000',
        GATEWAY_ADMIN_KEY: admin,
        AUTH_MODE: 'keys',
        ...extra,
      },
    });
    procs.push(proc);
    const target: Target = {
      name: build.name,
      proc,
      key: await createKeyViaAdmin(proc.origin, admin),
      scavenges: [],
    };
    let partial = '';
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.includes(' gc=s ')) target.scavenges.push(line);
    });
    targets.push(target);
  }

  const connections = Number(opts.connections);
  const seconds = Number(opts.seconds);
  const temperature = Number(opts.temperature);
  let prompt = 0;
  console.log(
    `| window | build | req/s | CPU µs/req | peak RSS MiB | scavenges | pauses ms per 1,000 req | survived KB (median) | promoted KB (median) |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (let w = 0; w < Number(opts.windows); w++) {
    for (const t of targets) {
      const spec = {
        origin: t.proc.origin,
        path: '/v1/chat/completions',
        headers: {
          'content-type': 'application/json',
          ...(t.key ? { authorization: `Bearer ${t.key}` } : {}),
        },
        body: () =>
          JSON.stringify({
            model: 'gpt-4o-mini',
            messages: [
              { role: 'user', content: `GC window prompt ${process.pid} number ${prompt++}: say hello.` },
            ],
            temperature,
            ...(opts.stream ? { stream: true } : {}),
          }),
        stream: opts.stream,
      };
      await runClosedLoop(spec, { connections, durationMs: 2000 });
      t.scavenges.length = 0;
      const cpu0 = treeCpuSeconds(t.proc.pid) ?? 0;
      const rss = sampleRss(t.proc.pid, 100);
      const r = await runClosedLoop(spec, { connections, durationMs: seconds * 1000 });
      const cpu1 = treeCpuSeconds(t.proc.pid) ?? 0;
      const peak = rss.stop();
      const s = t.scavenges.slice();
      const cells = [
        String(w + 1),
        t.name,
        r.throughput.toFixed(0),
        (((cpu1 - cpu0) / r.completed) * 1e6).toFixed(0),
        peak?.toFixed(0) ?? '—',
        String(s.length),
        ((sum(s, 'pause') / r.completed) * 1000).toFixed(1),
        (median(s, 'new_space_survived') / 1024).toFixed(0),
        (median(s, 'promoted') / 1024).toFixed(0),
      ];
      console.log(`| ${cells.join(' | ')} |`);
    }
  }
}

try {
  await main();
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  const client = new pg.Client({ connectionString: opts['postgres-url'] });
  await client.connect().then(
    () => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end()),
    () => undefined,
  );
}
