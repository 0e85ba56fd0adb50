/**
 * Instructions per request under valgrind's callgrind: an A/B measure that does not move with the machine.
 * CPU seconds per request on a shared or virtual machine vary ±15–30 % between repeats of one build
 * (docs/performance.md, "Method"); an instruction count varies by a few per cent (timers, GC timing), so a
 * change of 5–10 % shows. Method (decision 0166, corrected by decision 0198):
 *
 * - each build (this checkout, and `--baseline REV`) compiled with tsc and run with `npm start`'s node
 *   flags, as the bench's `prod-*` variants;
 * - the gateway run under `valgrind --tool=callgrind --instr-atstart=no`: `--warm` requests (default
 *   15,000) with the instrumentation off, so V8's optimising compiler has done its work (it compiles the hot
 *   code over a Node process's first ≈ 10,000–15,000 requests; counted from the start, it was most of the
 *   instructions), then `callgrind_control -i on`, `--requests` requests (closed loop over
 *   `--connections`, cache misses at temperature 0.7, against the bench's mock upstream), and
 *   `callgrind_control -d`;
 * - instructions per request = the dump's total ÷ `--requests`;
 * - features: API key check is off (no database), rate limit on in memory (limits out of reach), info logs,
 *   usage records off: the request path without I/O to other services. `--usage` turns the usage records
 *   on, written to a fresh PostgreSQL database per run (`--postgres-url`, dropped afterwards), in batches of
 *   100 (the flush timer is set out of reach): the record made per request and each request's share of the
 *   batch writes, counted in the gateway's process (the database's own work is in its process, not counted).
 *
 *   npm run bench:instructions -- --baseline 7dbca5e            # this build vs a revision (≈ 10 min)
 *   npm run bench:instructions -- --requests 4000 --repeats 3    # tighter
 *   npm run bench:instructions -- --connections 1                # each request alone, as at a low rate
 *   npm run bench:instructions -- --bare                         # beside the bare Node.js proxy
 *   npm run bench:instructions -- --stream --baseline 7dbca5e   # streamed answers (20 chunks), as stream@200
 *   npm run bench:instructions -- --usage --baseline 7dbca5e    # with usage records in PostgreSQL
 *
 * Needs valgrind (`apt-get install -y valgrind`). Both builds run side by side (one core each).
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import {
  buildGateway,
  buildRevision,
  freePort,
  gatewayBaseEnv,
  REPO_ROOT,
  START_NODE_FLAGS,
  startMock,
  which,
} from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    baseline: { type: 'string' },
    requests: { type: 'string', default: '2000' },
    warm: { type: 'string', default: '15000' },
    connections: { type: 'string', default: '4' },
    repeats: { type: 'string', default: '2' },
    // Streamed answers (`stream: true`, 20 content chunks from the mock, as the bench's stream point).
    stream: { type: 'boolean', default: false },
    // Also count the bare Node.js proxy (bench/lib/bare-proxy.ts): the floor for any Node proxy.
    bare: { type: 'boolean', default: false },
    // Usage records on, in a fresh PostgreSQL database per run.
    usage: { type: 'boolean', default: false },
    'postgres-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  },
});
const STREAM = opts.stream;
const REQUESTS = Number(opts.requests);
const WARM = Number(opts.warm);
const REPEATS = Number(opts.repeats);
const CONNECTIONS = Number(opts.connections);

function log(message: string): void {
  process.stderr.write(`[instructions ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** Sends `n` chat requests over `CONNECTIONS` connections; resolves with how many were answered 200. */
async function drive(origin: string, n: number): Promise<number> {
  const pool = new Pool(origin, { connections: CONNECTIONS });
  let sent = 0;
  let ok = 0;
  const worker = async () => {
    while (sent < n) {
      const i = sent++;
      const res = await pool.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: `Question ${i}: how do I reset my password?` }],
          temperature: 0.7,
          ...(STREAM ? { stream: true } : {}),
        }),
      });
      await res.body.text();
      if (res.statusCode === 200) ok++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  await pool.close();
  return ok;
}

/**
 * callgrind_control finds the process by a file valgrind names after the user and the `HOST` of its
 * environment: both sides need the same.
 */
function control(pid: number, command: string[], host: string): void {
  execFileSync('callgrind_control', [...command, String(pid)], {
    env: { ...process.env, USER: 'bench', LOGNAME: 'bench', HOST: host },
    stdio: 'ignore',
  });
}

/** The bare Node.js proxy's "entry": run through tsx, with its port and upstream as arguments. */
const BARE = 'bare';

/** A fresh PostgreSQL database for one run's usage records: its URL and how to drop it. */
async function usageDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `llmgw_instructions_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: opts['postgres-url'], connectionTimeoutMillis: 3000 });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(opts['postgres-url'] as string);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end().catch(() => undefined);
    },
  };
}

/** Runs `entry` under callgrind; returns the instructions of `n` requests after the warm-up. */
async function countRun(entry: string, upstream: string, n: number, outDir: string): Promise<number> {
  const database = opts.usage && entry !== BARE ? await usageDatabase() : null;
  try {
    return await countRunWith(entry, upstream, n, outDir, database?.url ?? null);
  } finally {
    await database?.drop();
  }
}

async function countRunWith(
  entry: string,
  upstream: string,
  n: number,
  outDir: string,
  databaseUrl: string | null,
): Promise<number> {
  const port = await freePort();
  const out = join(outDir, `callgrind-${port}.out`);
  const env: Record<string, string> = {
    ...gatewayBaseEnv(port, upstream),
    USER: 'bench',
    LOGNAME: 'bench',
    // Batches of 100 by count only: under valgrind the rate is low enough that the flush timer would cut
    // batches short, by how fast each run happens to go, and each request's share of the writes with them.
    ...(databaseUrl
      ? { USAGE_ENABLED: 'true', DATABASE_URL: databaseUrl, USAGE_FLUSH_INTERVAL_MS: '3600000' }
      : { USAGE_ENABLED: 'false' }),
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_DEFAULT_RATE: '100000000',
    RATE_LIMIT_DEFAULT_CAPACITY: '100000000',
  };
  const args = [
    '--tool=callgrind',
    `--callgrind-out-file=${out}`,
    '--dump-instr=no',
    '--collect-jumps=no',
    '--instr-atstart=no',
  ];
  const argv =
    entry === BARE
      ? ['--import', 'tsx', 'bench/lib/bare-proxy.ts', String(port), upstream]
      : [...START_NODE_FLAGS, entry];
  const child = spawn('valgrind', [...args, process.execPath, ...argv], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null)
      throw new Error(`the gateway under valgrind exited (${child.exitCode}): ${stderr}`);
    if (i > 600) throw new Error('the gateway under valgrind did not become ready in 10 minutes');
    // The bare proxy has no health route: any answer means it listens.
    const ready = await fetch(`${origin}/health/ready`).then(
      (r) => r.ok || entry === BARE,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const pid = child.pid as number;
  const warmed = await drive(origin, WARM);
  if (warmed !== WARM) throw new Error(`${WARM - warmed} of ${WARM} warm-up requests were not answered 200`);
  control(pid, ['-i', 'on'], env.HOST ?? '');
  const ok = await drive(origin, n);
  if (ok !== n) throw new Error(`${n - ok} of ${n} requests were not answered 200`);
  control(pid, ['-d'], env.HOST ?? '');
  child.kill('SIGTERM');
  await exited;
  const dump = readdirSync(outDir)
    .filter((f) => f.startsWith(`callgrind-${port}.out.`))
    .sort()
    .at(-1);
  if (!dump) throw new Error(`no callgrind dump next to ${out}`);
  const totals = /^(?:summary|totals): (\d+)$/m.exec(readFileSync(join(outDir, dump), 'utf8'));
  if (!totals) throw new Error(`no totals line in ${dump}`);
  return Number(totals[1]);
}

/** Instructions per request of one build, one value per repeat. */
async function measure(name: string, entry: string, upstream: string, dir: string): Promise<number[]> {
  const perRequest: number[] = [];
  for (let r = 1; r <= REPEATS; r++) {
    const total = await countRun(entry, upstream, REQUESTS, dir);
    const value = total / REQUESTS;
    log(`${name} r${r}/${REPEATS}: ${total} instructions → ${Math.round(value)} per request`);
    perRequest.push(value);
  }
  return perRequest;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

if (!which('valgrind')) {
  process.stderr.write('valgrind is not installed (apt-get install -y valgrind)\n');
  process.exit(2);
}
// Inside the checkout: the compiled builds resolve their packages from its node_modules.
mkdirSync(join(REPO_ROOT, 'bench/.tmp'), { recursive: true });
const tmp = mkdtempSync(join(REPO_ROOT, 'bench/.tmp/instructions-'));
try {
  const builds: Array<[string, string]> = [];
  const own = buildGateway(join(tmp, 'this'));
  if ('error' in own) throw new Error(own.error);
  builds.push(['this build', own.entry]);
  if (opts.baseline) {
    const base = buildRevision(opts.baseline, join(tmp, 'baseline'));
    if ('error' in base) throw new Error(base.error);
    builds.push([`baseline ${opts.baseline}`, base.entry]);
  }
  if (opts.bare) builds.push(['bare Node.js proxy', BARE]);
  const mock = await startMock('mock', join(tmp, 'logs'), null, { chunks: STREAM ? 20 : 4 });
  try {
    const results = await Promise.all(builds.map(([name, entry]) => measure(name, entry, mock.origin, tmp)));
    const rows = builds.map(([name], i) => {
      const values = results[i] as number[];
      const m = median(values);
      const spread = values.map((v) => `${(v / 1e6).toFixed(3)}`).join(', ');
      return { name, median: m, line: `| ${name} | ${(m / 1e6).toFixed(3)} M | ${spread} |` };
    });
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT })
      .toString()
      .trim();
    process.stdout.write(
      `Instructions per ${STREAM ? 'streamed ' : ''}request${opts.usage ? ' with usage records in PostgreSQL' : ''} (callgrind; ${REQUESTS} requests over ${CONNECTIONS} connection(s), counted after ${WARM} uncounted; ${REPEATS} repeats; HEAD ${commit})\n\n` +
        '| build | median | per repeat (M) |\n| --- | --- | --- |\n' +
        `${rows.map((r) => r.line).join('\n')}\n`,
    );
    const own = (rows[0] as { median: number }).median;
    for (const [i, label] of [
      [1, opts.baseline ? 'baseline' : null],
      [rows.length - 1, opts.bare ? 'the bare Node.js proxy' : null],
    ] as const) {
      if (label === null) continue;
      const change = (own / (rows[i] as { median: number }).median - 1) * 100;
      process.stdout.write(`\nthis build vs ${label}: ${change >= 0 ? '+' : ''}${change.toFixed(1)} %\n`);
    }
  } finally {
    await mock.stop();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
