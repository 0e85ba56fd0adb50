/**
 * `npm run bench`: the performance benchmark of DESIGN §14. Starts the mock upstream, the gateway in
 * several configurations, the peers (Portkey, nginx) and drives them from this process, pinned with
 * taskset: upstream and load generator on one CPU, the proxies on the other. Every point is repeated with
 * the targets interleaved and the order rotated per repeat; the report gives the median with min–max.
 * Writes `<out>.json` and `<out>.md`. See bench/README.md and docs/performance.md.
 *
 *   npm run bench                         full run (≈15 min on 2 cores)
 *   npm run bench -- --quick              a few seconds per point, one repeat
 *   npm run bench -- --only overhead,stream --repeats 5 --duration 10
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type LoadResult, type RequestSpec, runAtRate, runClosedLoop, warmUp } from './lib/loadgen.js';
import {
  type ColdStartResult,
  coldStart,
  renderPhases,
  type SoakResult,
  soak,
  waitFor200,
} from './lib/phases.js';
import {
  createKeyViaAdmin,
  HIT_BODY,
  post,
  probeAccounting,
  probeExactCache,
  probeKeys,
  probeRateLimit,
  probeSemanticCache,
  probeSemanticLookups,
  probeServes,
  SEMANTIC_QUERY,
  SEMANTIC_SEED,
} from './lib/probe.js';
import { processTree, sampleRss, treeCpuSeconds, treeRssMiB } from './lib/procstat.js';
import { renderMarkdown } from './lib/report.js';
import {
  countersBetween,
  cpuByThreadName,
  embedderThreads,
  paraphraseBody,
  pinThreads,
  type SemanticCounters,
  type SemanticPinning,
  scrapeSemantic,
  threadsCpuSeconds,
} from './lib/semantic-load.js';
import { type PinnedServices, pinServices } from './lib/services.js';
import {
  buildGateway,
  buildRevision,
  envPairs,
  formatJson,
  nginxAvailable,
  type Proc,
  pinSelf,
  portkeyAvailable,
  REPO_ROOT,
  startBareProxy,
  startGateway,
  startMock,
  startNginx,
  startPortkey,
} from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    repeats: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    // Requests of closed-loop load per target and request kind before the first measurement (at most
    // 60 s each), so that no point measures V8's optimising compiler at work (0: off; the first repeat
    // then measures it).
    'jit-warmup': { type: 'string' },
    rates: { type: 'string', default: '500,1000' },
    connections: { type: 'string', default: '16,64' },
    'stream-rate': { type: 'string', default: '200' },
    'feature-rate': { type: 'string', default: '1000' },
    workers: { type: 'string', default: String(Math.max(2, availableParallelism())) },
    only: { type: 'string' },
    // Measure only these targets (comma-separated), e.g. --targets prod-baseline,prod-compiled for an A/B.
    targets: { type: 'string' },
    peers: { type: 'string', default: 'portkey,nginx,node-bare' },
    // Also measure the gateway compiled to JavaScript (tsc) next to the tsx default.
    'skip-compiled': { type: 'boolean', default: false },
    // A git revision (e.g. the previous release) built and measured with the production features next to
    // this checkout's build, in the same run: variants prod-baseline and prod-compiled.
    baseline: { type: 'string' },
    // Extra env for every gateway variant, e.g. --gateway-env LOG_LEVEL=warn (experiments).
    'gateway-env': { type: 'string', multiple: true, default: [] },
    // Extra node flags for every gateway variant (e.g. --gateway-node-flag=--max-semi-space-size=32).
    'gateway-node-flag': { type: 'string', multiple: true, default: [] },
    // Extra node flags for the --baseline variants only, after every other: an A/B of one node flag on
    // one build (--baseline HEAD --baseline-node-flag=--max-semi-space-size=16).
    'baseline-node-flag': { type: 'string', multiple: true, default: [] },
    // Keep the process logs (bench/.tmp/<stamp>) after a run that succeeded, e.g. with
    // --gateway-node-flag=--trace-gc.
    'keep-logs': { type: 'boolean', default: false },
    out: { type: 'string' },
    'no-pin': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    // Prints each measurement's CPU per request by thread name (main thread, GC helpers, thread pool).
    'thread-cpu': { type: 'boolean', default: false },
    // Every other proxy's process tree is stopped (SIGSTOP) while one target is measured, so idle neighbours
    // on the proxy CPU do not wake in the middle of its requests (decision 0199); `--park off` keeps them
    // running, as runs before 2026-12-06 did.
    park: { type: 'string', default: 'on' },
    // A local PostgreSQL and Redis are moved to the load CPU for the run, so their backends never run on the
    // proxy CPU (decision 0201); `--pin-services off` leaves them to the scheduler, as runs before
    // 2026-12-07 did.
    'pin-services': { type: 'string', default: 'on' },
    // Soak (`--only soak` or `--soak`): minutes at --soak-rate against --soak-target, RSS after each window.
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string', default: '10' },
    'soak-rate': { type: 'string', default: '500' },
    'soak-target': { type: 'string', default: 'ours-prod' },
    // Cold start: the rate and length of the load right after /health/ready.
    'coldstart-rate': { type: 'string', default: '200' },
    'coldstart-seconds': { type: 'string', default: '60' },
    // semantic-load: cache misses at this rate, alone and beside semantic lookups at --semantic-rate.
    'semantic-miss-rate': { type: 'string', default: '200' },
    'semantic-rate': { type: 'string', default: '50' },
    // The variants profiled with --cpu-prof (comma-separated), e.g. ours-prod,prod-baseline.
    'cpu-prof-target': { type: 'string', default: 'ours' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    // Accounting runs against a database of its own, created here and dropped at the end.
    'postgres-url': {
      type: 'string',
      default: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    },
  },
});

const GROUPS = [
  'overhead',
  'throughput',
  'features',
  'cache',
  'stream',
  'workers',
  'memory',
  'coldstart',
  'semantic-load',
  'soak',
] as const;
type Group = (typeof GROUPS)[number];
// The soak (10 minutes) runs only when asked for: `--only soak` or `--soak`.
const DEFAULT_GROUPS = GROUPS.filter((g) => g !== 'soak');
const only = new Set<Group>((opts.only?.split(',') ?? DEFAULT_GROUPS) as Group[]);
if (opts.soak) only.add('soak');
for (const g of only)
  if (!GROUPS.includes(g)) throw new Error(`--only: unknown group "${g}" (${GROUPS.join(', ')})`);
const quick = opts.quick;
const repeats = Number(opts.repeats ?? (quick ? 1 : 3));
const durationMs = Number(opts.duration ?? (quick ? 1 : 8)) * 1000;
const warmupMs = Number(opts.warmup ?? (quick ? 0.3 : 2)) * 1000;
const jitWarmupRequests = Number(opts['jit-warmup'] ?? (quick ? 0 : 15_000));
if (opts.park !== 'on' && opts.park !== 'off') throw new Error(`--park takes on or off, not ${opts.park}`);
const parkNeighbours = opts.park === 'on';
if (opts['pin-services'] !== 'on' && opts['pin-services'] !== 'off') {
  throw new Error(`--pin-services takes on or off, not ${opts['pin-services']}`);
}
/** The longest a JIT warm-up runs per target and request kind, whatever it reached. */
const JIT_WARMUP_MAX_MS = 60_000;
const rates = opts.rates.split(',').map(Number);
const conns = opts.connections.split(',').map(Number);
const streamRate = Number(opts['stream-rate']);
const featureRate = Number(opts['feature-rate']);
const workers = Number(opts.workers);
const semanticMissRate = Number(opts['semantic-miss-rate']);
const semanticRate = Number(opts['semantic-rate']);
/** The gateway of the semantic-load group: semantic cache on, its embedding pool pinned to the load CPU. */
const SEMANTIC_POOL = 'ours-semantic-pool';
const onlyTargets = opts.targets ? new Set(['direct', ...opts.targets.split(',')]) : null;
const peers = new Set(opts.peers === 'none' ? [] : opts.peers.split(','));
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = opts.out ?? join(REPO_ROOT, 'bench/results', `bench-${stamp}`);
const tmp = join(REPO_ROOT, 'bench/.tmp', stamp);
mkdirSync(tmp, { recursive: true });
mkdirSync(dirname(out), { recursive: true });

// Two CPUs or more: the gateway (and peers) on CPU 1, upstream + load generator on CPU 0.
const ncpu = availableParallelism();
const pin = !opts['no-pin'] && ncpu >= 2;
const LOAD_CPUS = pin ? '0' : null;
const PROXY_CPUS = pin ? '1' : null;
const ALL_CPUS = pin ? `0-${ncpu - 1}` : null;
const pinnedSelf = pinSelf(LOAD_CPUS);

const log = (msg: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------- targets

interface Target {
  name: string;
  description: string;
  proc: Proc | null;
  /** The process whose CPU and RSS are reported (the proxy; null for direct). */
  measured: Proc | null;
  origin: string;
  path: string;
  headers: Record<string, string>;
  unavailable: string | null;
  rssIdleMiB: number | null;
  /** The lowest RSS over `IDLE_SETTLE_MS` without traffic (after `rssIdleMiB`). */
  rssSettledMiB?: number | null;
  rssAfterMiB: number | null;
}

/**
 * How long the idle RSS is watched for its settled value: V8's memory reducer gives back the young generation
 * the start-up grew (16 MiB with `npm start`'s 8 MiB semi-spaces, 32 on Node 20's default) and compacts the
 * old generation once the process has been quiet. Its timer ticks every 8 s and acts once the allocation rate,
 * averaged over the last GCs (all in start-up), is low against the GC speed measured then; otherwise its
 * watchdog acts 100 s after the last mark-compact. Alone on its CPU the gateway settled 22–49 s after start;
 * in the bench, beside the other targets starting on the same CPU, only the watchdog did (decision 0180).
 */
const IDLE_SETTLE_MS = 110_000;

const UPSTREAM_KEY = 'sk-bench-upstream-key';
const ADMIN_KEY = `bench-admin-${randomBytes(12).toString('hex')}`;
const API_KEY = `sk-bench-${randomBytes(16).toString('hex')}`;
const KEYS_YAML = `auth:
  mode: keys
  keys:
    - name: bench
      key_sha256: ${createHash('sha256').update(API_KEY).digest('hex')}
      user_id: bench-user
      tier: free
`;
const JSON_HEADERS = { 'content-type': 'application/json' };
const redisPrefix = `bench:${stamp}:`;
// Generous limits: the benchmark measures the cost of checking a bucket, not of being refused.
const RATE_LIMIT_ENV = {
  RATE_LIMIT_ENABLED: 'true',
  RATE_LIMIT_DEFAULT_RATE: '100000000',
  RATE_LIMIT_DEFAULT_CAPACITY: '100000000',
};

/** The bare gateway: rate limits and usage records off (both on by default), nothing on disk. */
const BARE_ENV = {
  RATE_LIMIT_ENABLED: 'false',
  USAGE_ENABLED: 'false',
  GATEWAY_DATA_DIR: 'memory://',
};

type Probe = (origin: string, headers: Record<string, string>) => Promise<string | null>;

interface GatewayVariant {
  name: string;
  description: string;
  env: Record<string, string>;
  keys: boolean;
  probes: Probe[];
  workers?: number;
  cpus?: string | null;
  /** Compiled entry instead of tsx; a string = why it is not available. */
  entry?: string | { error: string };
  /** Node flags of this variant alone, after every other (the last of a V8 flag wins). */
  nodeFlags?: string[];
}

let compiled: { entry: string } | { error: string } | null = null;
let baseline: { entry: string } | { error: string } | null = null;
const baselineNodeFlags = opts['baseline-node-flag'] as string[];
const baselineFlagsNote = baselineNodeFlags.length ? `, node ${baselineNodeFlags.join(' ')}` : '';

const gatewayEnv = envPairs(opts['gateway-env'] as string[]);
const targets = new Map<string, Target>();
const benchDatabase = `llmgw_bench_${randomBytes(4).toString('hex')}`;
let benchDatabaseUrl: string | null = null;
let databaseNote = '';
let services: PinnedServices | null = null;

/** A fresh PostgreSQL database for the accounting variants; PGlite (in memory) when PostgreSQL is down. */
async function createBenchDatabase(): Promise<void> {
  const client = new pg.Client({ connectionString: opts['postgres-url'], connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`CREATE DATABASE ${benchDatabase}`);
    const url = new URL(opts['postgres-url']);
    url.pathname = `/${benchDatabase}`;
    benchDatabaseUrl = url.toString();
    databaseNote = `PostgreSQL database ${benchDatabase} (dropped after the run)`;
  } catch (err) {
    databaseNote = `PostgreSQL not reachable (${(err as Error).message}): accounting uses PGlite in memory`;
  } finally {
    await client.end().catch(() => undefined);
  }
  log(`database: ${databaseNote}`);
}

async function dropBenchDatabase(): Promise<void> {
  if (!benchDatabaseUrl) return;
  const client = new pg.Client({ connectionString: opts['postgres-url'], connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${benchDatabase} WITH (FORCE)`);
  } catch (err) {
    log(`could not drop database ${benchDatabase}: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
const procs: Proc[] = [];
let mock: Proc;

function variants(): GatewayVariant[] {
  const redis = { REDIS_URL: opts['redis-url'], REDIS_KEY_PREFIX: redisPrefix };
  // API keys live in the database (PostgreSQL in production): every keys variant gets it, so none opens
  // PGlite (hundreds of MB) just for the key table.
  const keysDb: Record<string, string> = benchDatabaseUrl ? { DATABASE_URL: benchDatabaseUrl } : {};
  const db: Record<string, string> = { USAGE_ENABLED: 'true', ...keysDb };
  // Budgets check every request against the day's spend; the limit is never reached.
  const budgets = { BUDGET_DEFAULT_DAILY_USD: '1000000' };
  const v: GatewayVariant[] = [
    {
      name: 'ours',
      description: 'gateway, defaults (no auth, info logs)',
      env: {},
      keys: false,
      probes: [probeServes],
    },
  ];
  if ((only.has('overhead') || only.has('throughput') || only.has('stream')) && compiled) {
    v.push({
      name: 'ours-compiled',
      description: 'gateway compiled with tsc (node dist/main.js), defaults',
      env: {},
      keys: false,
      probes: [probeServes],
      entry: 'entry' in compiled ? compiled.entry : compiled,
    });
  }
  if (
    only.has('overhead') ||
    only.has('throughput') ||
    only.has('features') ||
    only.has('memory') ||
    only.has('soak')
  ) {
    v.push({
      name: 'ours-prod',
      description:
        'gateway compiled (as `npm start` runs it), auth keys + rate limit (memory) + usage accounting and daily budget (PostgreSQL), info logs',
      env: { ...RATE_LIMIT_ENV, ...db, ...budgets },
      keys: true,
      probes: [probeKeys, probeRateLimit, probeAccounting],
      ...(compiled && 'entry' in compiled ? { entry: compiled.entry } : {}),
    });
  }
  if (only.has('memory') || (only.has('soak') && opts['soak-target'] === 'ours-pglite')) {
    v.push({
      name: 'ours-pglite',
      description:
        'gateway compiled, the default configuration: embedded PGlite file database (keys, usage), rate limit (memory), daily budget, info logs',
      env: {
        ...RATE_LIMIT_ENV,
        ...budgets,
        USAGE_ENABLED: 'true',
        GATEWAY_DATA_DIR: join(tmp, 'pglite-data'),
      },
      keys: true,
      probes: [probeKeys, probeRateLimit, probeAccounting],
      ...(compiled && 'entry' in compiled ? { entry: compiled.entry } : {}),
    });
    if (baseline && only.has('memory')) {
      v.push({
        name: 'pglite-baseline',
        description: `the default configuration (PGlite), baseline build (${opts.baseline}, compiled)${baselineFlagsNote}`,
        env: {
          ...RATE_LIMIT_ENV,
          ...budgets,
          USAGE_ENABLED: 'true',
          GATEWAY_DATA_DIR: join(tmp, 'pglite-baseline-data'),
        },
        keys: true,
        probes: [probeKeys, probeRateLimit, probeAccounting],
        entry: 'entry' in baseline ? baseline.entry : baseline,
        nodeFlags: baselineNodeFlags,
      });
    }
  }
  if (
    baseline &&
    compiled &&
    (only.has('overhead') || only.has('throughput') || only.has('features') || only.has('stream'))
  ) {
    const prod = {
      env: { ...RATE_LIMIT_ENV, ...db, ...budgets },
      keys: true,
      probes: [probeKeys, probeRateLimit, probeAccounting],
    };
    v.push(
      {
        name: 'prod-baseline',
        description: `production features, baseline build (${opts.baseline}, compiled)${baselineFlagsNote}`,
        ...prod,
        entry: 'entry' in baseline ? baseline.entry : baseline,
        nodeFlags: baselineNodeFlags,
      },
      {
        name: 'prod-compiled',
        description: 'production features, this build (compiled)',
        ...prod,
        entry: 'entry' in compiled ? compiled.entry : compiled,
      },
    );
  }
  if (only.has('features')) {
    v.push(
      {
        name: 'ours-quiet',
        description: 'gateway, LOG_LEVEL=warn (no per-request log line)',
        env: { LOG_LEVEL: 'warn' },
        keys: false,
        probes: [probeServes],
      },
      {
        name: 'ours-keys',
        description: 'gateway, API key auth (keys in PostgreSQL)',
        env: keysDb,
        keys: true,
        probes: [probeKeys],
      },
      {
        name: 'ours-rl-memory',
        description: 'gateway, keys + rate limit (memory)',
        env: { ...RATE_LIMIT_ENV, ...keysDb },
        keys: true,
        probes: [probeKeys, probeRateLimit],
      },
      {
        name: 'ours-rl-redis',
        description: 'gateway, keys + rate limit (Redis)',
        env: { ...RATE_LIMIT_ENV, ...redis, ...keysDb },
        keys: true,
        probes: [probeKeys, probeRateLimit],
      },
      {
        name: 'ours-accounting',
        description: 'gateway, keys + usage accounting (PostgreSQL)',
        env: db,
        keys: true,
        probes: [probeKeys, probeAccounting],
      },
    );
  }
  if (only.has('cache')) {
    v.push(
      {
        name: 'ours-cache-memory',
        description: 'gateway, exact cache (memory), hits',
        env: {},
        keys: false,
        probes: [probeExactCache],
      },
      {
        name: 'ours-cache-redis',
        description: 'gateway, exact cache (Redis), hits',
        env: redis,
        keys: false,
        probes: [probeExactCache],
      },
      {
        name: 'ours-semantic',
        description: 'gateway, semantic cache hits (paraphrase of a cached prompt)',
        env: { ENABLE_SEMANTIC_CACHE: 'true' },
        keys: false,
        probes: [probeSemanticCache],
      },
    );
  }
  if (only.has('semantic-load')) {
    v.push({
      name: SEMANTIC_POOL,
      description:
        'gateway compiled, semantic cache on: local USE-Lite in its worker pool (default size: cores − 1 of its CPU set = 1), the pool thread pinned to the load CPU',
      env: { ENABLE_SEMANTIC_CACHE: 'true' },
      keys: false,
      probes: [probeSemanticLookups],
      ...(compiled && 'entry' in compiled ? { entry: compiled.entry } : {}),
    });
  }
  if (only.has('workers') && workers > 1) {
    v.push({
      name: `ours-workers${workers}`,
      description: `gateway, --workers ${workers} on all ${ncpu} CPUs, with the PostgreSQL and Redis workers need (defaults otherwise)`,
      // Workers refuse to start without PostgreSQL, and without Redis while rate limits or budgets are on.
      env: { ...keysDb, ...redis },
      keys: false,
      probes: [probeServes],
      workers,
      cpus: ALL_CPUS,
    });
  }
  return v;
}

async function startVariant(variant: GatewayVariant): Promise<void> {
  const base: Omit<Target, 'proc' | 'measured' | 'origin' | 'headers' | 'unavailable'> = {
    name: variant.name,
    description: variant.description,
    path: '/v1/chat/completions',
    rssIdleMiB: null,
    rssAfterMiB: null,
  };
  const env = {
    // Every feature off unless the variant turns it on, so each variant's cost is its own.
    ...BARE_ENV,
    ...gatewayEnv,
    ...variant.env,
    ...(variant.keys ? { GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'keys' } : {}),
  };
  const nodeFlags = [
    ...(opts['gateway-node-flag'] as string[]),
    ...(opts['cpu-prof'] && opts['cpu-prof-target'].split(',').includes(variant.name)
      ? ['--cpu-prof', `--cpu-prof-dir=${join(tmp, 'cpu-prof', variant.name)}`]
      : []),
    ...(variant.nodeFlags ?? []),
  ];
  const cpusFor = variant.cpus === undefined ? PROXY_CPUS : variant.cpus;
  let proc: Proc;
  let key: string | null = null;
  if (typeof variant.entry === 'object') {
    targets.set(variant.name, {
      ...base,
      proc: null,
      measured: null,
      origin: '',
      headers: {},
      unavailable: variant.entry.error,
    });
    return;
  }
  const entry = variant.entry;
  try {
    // Static keys in the config file (the core build); a build with database keys may reject them, and
    // is then asked for a key through its admin API.
    try {
      proc = await startGateway(variant.name, tmp, cpusFor, mock.origin, {
        env,
        ...(variant.keys ? { yaml: KEYS_YAML } : {}),
        workers: variant.workers ?? 1,
        nodeFlags,
        ...(entry ? { entry } : {}),
      });
      if (variant.keys) key = (await createKeyViaAdmin(proc.origin, ADMIN_KEY)) ?? API_KEY;
    } catch (err) {
      if (!variant.keys) throw err;
      proc = await startGateway(`${variant.name}-dbkeys`, tmp, cpusFor, mock.origin, {
        env,
        workers: variant.workers ?? 1,
      });
      key = await createKeyViaAdmin(proc.origin, ADMIN_KEY);
      if (!key)
        throw new Error(
          `no API key: the config's static keys were refused (${(err as Error).message}) and POST /admin/keys gave none`,
        );
    }
  } catch (err) {
    targets.set(variant.name, {
      ...base,
      proc: null,
      measured: null,
      origin: '',
      headers: {},
      unavailable: `did not start: ${(err as Error).message}`,
    });
    return;
  }
  procs.push(proc);
  const headers: Record<string, string> = {
    ...JSON_HEADERS,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  };
  let unavailable: string | null = null;
  for (const probe of variant.probes) {
    try {
      unavailable = await probe(proc.origin, headers);
    } catch (err) {
      unavailable = `probe failed: ${(err as Error).message}`;
    }
    if (unavailable) break;
  }
  targets.set(variant.name, { ...base, proc, measured: proc, origin: proc.origin, headers, unavailable });
  log(`${variant.name}: ${unavailable ? `NOT AVAILABLE (${unavailable})` : `ready on ${proc.origin}`}`);
}

async function startTargets(): Promise<void> {
  log(
    `pinning: ${pin ? `load+upstream on CPU ${LOAD_CPUS}, proxies on CPU ${PROXY_CPUS}${pinnedSelf ? '' : ' (could not pin this process)'}` : 'off'}`,
  );
  const prodGroups = ['overhead', 'throughput', 'features', 'memory', 'coldstart', 'soak'] as const;
  // The stream group's prod-* variants too: without a database they would run on PGlite in memory.
  if (prodGroups.some((g) => only.has(g)) || only.has('stream')) await createBenchDatabase();
  if (LOAD_CPUS !== null && opts['pin-services'] === 'on') {
    services = await pinServices(LOAD_CPUS, { postgres: opts['postgres-url'], redis: opts['redis-url'] });
  }
  log(`services: ${services?.note ?? 'not pinned (--pin-services off, or no pinning)'}`);
  // Everything but the cache and workers points measures the compiled build (`npm start`); the stream
  // point measures both builds (its first-byte target is checked on the compiled one).
  const wantsCompiled =
    prodGroups.some((g) => only.has(g)) || only.has('semantic-load') || only.has('stream');
  if (!opts['skip-compiled'] && wantsCompiled) {
    const built = buildGateway(join(tmp, 'dist'));
    compiled = built;
    log(`compiled gateway: ${'entry' in built ? built.entry : built.error}`);
  }
  if (opts.baseline) {
    baseline = buildRevision(opts.baseline, join(tmp, 'baseline'));
    log(`baseline ${opts.baseline}: ${'entry' in baseline ? baseline.entry : baseline.error}`);
  }
  mock = await startMock('mock', tmp, LOAD_CPUS, { chunks: 20 });
  procs.push(mock);
  targets.set('direct', {
    name: 'direct',
    description: 'straight to the mock upstream (baseline)',
    proc: mock,
    measured: null,
    origin: mock.origin,
    path: '/v1/chat/completions',
    headers: { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}` },
    unavailable: null,
    rssIdleMiB: null,
    rssAfterMiB: null,
  });
  // Two at a time: starting a dozen Node processes at once on a small machine only makes each slower.
  const list = variants().filter((v) => !onlyTargets || onlyTargets.has(v.name));
  for (let i = 0; i < list.length; i += 2) await Promise.all(list.slice(i, i + 2).map(startVariant));

  if (peers.has('portkey')) {
    const missing = portkeyAvailable();
    const t: Target = {
      name: 'portkey',
      description: 'Portkey AI Gateway 1.15 (peer)',
      proc: null,
      measured: null,
      origin: '',
      path: '/v1/chat/completions',
      headers: {
        ...JSON_HEADERS,
        authorization: `Bearer ${UPSTREAM_KEY}`,
        'x-portkey-provider': 'openai',
        'x-portkey-custom-host': `${mock.origin}/v1`,
      },
      unavailable: missing,
      rssIdleMiB: null,
      rssAfterMiB: null,
    };
    if (!missing) {
      try {
        const proc = await startPortkey('portkey', tmp, PROXY_CPUS);
        procs.push(proc);
        t.proc = proc;
        t.measured = proc;
        t.origin = proc.origin;
        t.unavailable = await probeServes(proc.origin, t.headers);
      } catch (err) {
        t.unavailable = `did not start: ${(err as Error).message}`;
      }
    }
    targets.set('portkey', t);
    log(`portkey: ${t.unavailable ? `NOT AVAILABLE (${t.unavailable})` : `ready on ${t.origin}`}`);
  }
  if (peers.has('nginx')) {
    const missing = nginxAvailable();
    const t: Target = {
      name: 'nginx',
      description: 'nginx proxy_pass, 1 worker, upstream keep-alive (floor of one proxy hop)',
      proc: null,
      measured: null,
      origin: '',
      path: '/v1/chat/completions',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}` },
      unavailable: missing,
      rssIdleMiB: null,
      rssAfterMiB: null,
    };
    if (!missing) {
      try {
        const proc = await startNginx('nginx', tmp, PROXY_CPUS, mock.port);
        procs.push(proc);
        t.proc = proc;
        t.measured = proc;
        t.origin = proc.origin;
        t.unavailable = await probeServes(proc.origin, t.headers);
      } catch (err) {
        t.unavailable = `did not start: ${(err as Error).message}`;
      }
    }
    targets.set('nginx', t);
    log(`nginx: ${t.unavailable ? `NOT AVAILABLE (${t.unavailable})` : `ready on ${t.origin}`}`);
  }
  if (peers.has('node-bare')) {
    const t: Target = {
      name: 'node-bare',
      description: 'bare Node.js proxy: node:http + undici, bytes through (floor for a Node proxy)',
      proc: null,
      measured: null,
      origin: '',
      path: '/v1/chat/completions',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${UPSTREAM_KEY}` },
      unavailable: null,
      rssIdleMiB: null,
      rssAfterMiB: null,
    };
    try {
      const proc = await startBareProxy('node-bare', tmp, PROXY_CPUS, mock.origin);
      procs.push(proc);
      t.proc = proc;
      t.measured = proc;
      t.origin = proc.origin;
      t.unavailable = await probeServes(proc.origin, t.headers);
    } catch (err) {
      t.unavailable = `did not start: ${(err as Error).message}`;
    }
    targets.set('node-bare', t);
    log(`node-bare: ${t.unavailable ? `NOT AVAILABLE (${t.unavailable})` : `ready on ${t.origin}`}`);
  }
  if (only.has('semantic-load')) semanticPinning = await pinSemanticPool();
  // Idle RSS after one request each (modules loaded, pools warm), before any load.
  await new Promise((r) => setTimeout(r, 1000));
  // The settled value takes IDLE_SETTLE_MS: only runs that measure memory wait for it.
  const watch = !opts.quick && only.has('memory');
  for (const t of targets.values()) {
    if (!t.measured || t.unavailable) continue;
    t.rssIdleMiB = treeRssMiB(t.measured.pid);
    t.rssSettledMiB = watch ? t.rssIdleMiB : null;
  }
  if (watch) {
    log(`idle RSS: watching ${IDLE_SETTLE_MS / 1000} s without traffic for the settled value`);
    for (const until = Date.now() + IDLE_SETTLE_MS; Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 2000));
      for (const t of targets.values()) {
        if (!t.measured || t.unavailable) continue;
        const now = treeRssMiB(t.measured.pid);
        if (now !== null && (t.rssSettledMiB == null || now < t.rssSettledMiB)) t.rssSettledMiB = now;
      }
    }
  }
}

let semanticPinning: SemanticPinning | null = null;

/**
 * Gives the semantic gateway's embedding pool a core of its own: the gateway runs on the proxy CPU, its
 * pool threads are moved to the load CPU with `taskset -p` (decision 0159).
 */
async function pinSemanticPool(): Promise<SemanticPinning | null> {
  const t = targets.get(SEMANTIC_POOL);
  if (!t?.proc || t.unavailable) return null;
  const pid = t.proc.pid;
  // Unnamed threads (older builds) are found by the CPU they burn on a burst of lookups.
  const body = bodyFn('paraphrase', false);
  const found = await embedderThreads(pid, async () => {
    for (let i = 0; i < 40; i++) await post(t.origin, t.path, JSON.parse(body(i)), t.headers);
  });
  const base = { gatewayCpus: PROXY_CPUS, tids: found.tids, how: found.how };
  let result: SemanticPinning;
  if (found.tids.length === 0)
    result = { ...base, embedderCpus: PROXY_CPUS, note: 'pool threads not found: not pinned' };
  else if (!LOAD_CPUS)
    result = {
      ...base,
      embedderCpus: null,
      note: 'no pinning (--no-pin or one CPU): the pool shares the CPUs',
    };
  else {
    const pinned = pinThreads(found.tids, LOAD_CPUS);
    result = {
      ...base,
      tids: pinned,
      embedderCpus: pinned.length > 0 ? LOAD_CPUS : PROXY_CPUS,
      note:
        pinned.length === found.tids.length
          ? `${pinned.length} pool thread(s) (found by ${found.how === 'name' ? 'name embedder-N' : 'CPU use'}) moved to CPU ${LOAD_CPUS}; event loop on CPU ${PROXY_CPUS}`
          : `taskset -p failed for ${found.tids.length - pinned.length} of ${found.tids.length} pool thread(s)`,
    };
  }
  log(`${SEMANTIC_POOL}: ${result.note} (tids ${result.tids.join(',') || '—'})`);
  return result;
}

// ---------------------------------------------------------------- points

type BodyKind = 'miss' | 'hit' | 'semantic' | 'paraphrase';
interface Point {
  id: string;
  group: Group;
  label: string;
  targets: string[];
  load: { kind: 'rate'; rate: number } | { kind: 'closed'; connections: number };
  body: BodyKind;
  stream: boolean;
  /**
   * semantic-load: the semantic gateway whose skipped lookups (/metrics) and pool-thread CPU are recorded
   * over each measurement, and the lookups sent to it meanwhile (none = the point measures misses alone).
   */
  semantic?: { target: string; lookupRate: number | null };
}

function points(): Point[] {
  const p: Point[] = [];
  const proxies = ['direct', 'ours', 'ours-compiled', 'ours-prod', 'portkey', 'nginx', 'node-bare'];
  // With --baseline: this build and the baseline, both compiled, production features on.
  const versus = baseline ? ['prod-baseline', 'prod-compiled'] : [];
  if (only.has('overhead')) {
    for (const rate of rates) {
      p.push({
        id: `overhead@${rate}`,
        group: 'overhead',
        label: `non-stream cache miss at ${rate} req/s`,
        targets: [...proxies, ...versus],
        load: { kind: 'rate', rate },
        body: 'miss',
        stream: false,
      });
    }
  }
  if (only.has('throughput')) {
    for (const c of conns) {
      p.push({
        id: `max@${c}`,
        group: 'throughput',
        label: `max throughput, ${c} connections`,
        targets: [...proxies, ...versus],
        load: { kind: 'closed', connections: c },
        body: 'miss',
        stream: false,
      });
    }
  }
  if (only.has('features')) {
    p.push({
      id: `features@${featureRate}`,
      group: 'features',
      label: `feature costs, cache miss at ${featureRate} req/s`,
      targets: [
        'direct',
        'ours',
        'ours-quiet',
        'ours-keys',
        'ours-rl-memory',
        'ours-rl-redis',
        'ours-accounting',
        'ours-prod',
        ...versus,
      ],
      load: { kind: 'rate', rate: featureRate },
      body: 'miss',
      stream: false,
    });
  }
  if (only.has('cache')) {
    p.push(
      {
        id: `cache@${featureRate}`,
        group: 'cache',
        label: `exact-cache hits at ${featureRate} req/s`,
        targets: ['direct', 'ours-cache-memory', 'ours-cache-redis'],
        load: { kind: 'rate', rate: featureRate },
        body: 'hit',
        stream: false,
      },
      {
        id: 'semantic@100',
        group: 'cache',
        label: 'semantic-cache hits at 100 req/s',
        targets: ['ours-semantic'],
        load: { kind: 'rate', rate: 100 },
        body: 'semantic',
        stream: false,
      },
    );
  }
  if (only.has('stream')) {
    p.push({
      id: `stream@${streamRate}`,
      group: 'stream',
      label: `streaming, 20 chunks, at ${streamRate} req/s`,
      // ours-compiled is what `npm start` runs: the first-byte target is checked on it (report.ts).
      targets: ['direct', 'ours', 'ours-compiled', 'portkey', 'nginx', 'node-bare', ...versus],
      load: { kind: 'rate', rate: streamRate },
      body: 'miss',
      stream: true,
    });
  }
  if (only.has('workers') && workers > 1) {
    p.push({
      id: 'workers@64',
      group: 'workers',
      label: `max throughput, 64 connections, 1 process vs --workers ${workers}`,
      targets: ['direct', 'ours', `ours-workers${workers}`],
      load: { kind: 'closed', connections: 64 },
      body: 'miss',
      stream: false,
    });
  }
  if (only.has('semantic-load')) {
    // The same misses alone, then beside the lookups; `direct` beside the lookups shows what they cost the
    // load CPU (upstream and load generator share it with the pinned pool).
    const base = {
      group: 'semantic-load' as const,
      targets: ['direct', SEMANTIC_POOL],
      load: { kind: 'rate' as const, rate: semanticMissRate },
      body: 'miss' as const,
      stream: false,
    };
    p.push(
      {
        ...base,
        id: `semantic-load@${semanticMissRate}`,
        label: `semantic cache on, cache misses at ${semanticMissRate} req/s, no semantic lookups`,
        semantic: { target: SEMANTIC_POOL, lookupRate: null },
      },
      {
        ...base,
        id: `semantic-load@${semanticMissRate}+${semanticRate}`,
        label: `semantic cache on, cache misses at ${semanticMissRate} req/s while ${semanticRate} semantic lookups/s run (embedding pool pinned to the load CPU)`,
        semantic: { target: SEMANTIC_POOL, lookupRate: semanticRate },
      },
    );
  }
  if (only.has('memory')) {
    // RSS idle (targets table), peak under a steady rate and at saturation, and after the load.
    p.push(
      {
        id: 'memory@500',
        group: 'memory',
        label: 'memory, production features, cache miss at 500 req/s: PGlite default vs PostgreSQL',
        targets: ['direct', 'ours-pglite', 'ours-prod', 'pglite-baseline'],
        load: { kind: 'rate', rate: 500 },
        body: 'miss',
        stream: false,
      },
      {
        id: 'memory-max@64',
        group: 'memory',
        label: 'memory, production features, max throughput (64 connections): PGlite default vs PostgreSQL',
        targets: ['direct', 'ours-pglite', 'ours-prod', 'pglite-baseline'],
        load: { kind: 'closed', connections: 64 },
        body: 'miss',
        stream: false,
      },
    );
  }
  return p;
}

/**
 * Cold start: for the default configuration (PGlite) and the production one (PostgreSQL), a fresh process
 * is started and loaded from the moment /health/ready answers, every request compared with the upstream.
 */
async function runColdStarts(): Promise<ColdStartResult[]> {
  // The compiled build (`npm start`); through tsx only with --skip-compiled (smoke runs).
  const entry = compiled && 'entry' in compiled ? compiled.entry : undefined;
  if (compiled && 'error' in compiled) {
    log(`coldstart: skipped, the build failed (${compiled.error})`);
    return [];
  }
  const rate = Number(opts['coldstart-rate']);
  const durationMs = (quick ? 10 : Number(opts['coldstart-seconds'])) * 1000;
  const direct = targets.get('direct') as Target;
  const up = await runAtRate(
    { origin: direct.origin, path: direct.path, headers: direct.headers, body: bodyFn('miss', false) },
    { rate, durationMs: 3000 },
  );
  const keysDb: Record<string, string> = benchDatabaseUrl ? { DATABASE_URL: benchDatabaseUrl } : {};
  const configs: Array<{ name: string; env: Record<string, string> }> = [
    {
      name: 'coldstart-pglite',
      env: {
        ...RATE_LIMIT_ENV,
        USAGE_ENABLED: 'true',
        BUDGET_DEFAULT_DAILY_USD: '1000000',
        GATEWAY_DATA_DIR: join(tmp, 'coldstart-pglite-data'),
      },
    },
    {
      name: 'coldstart-postgres',
      env: { ...RATE_LIMIT_ENV, USAGE_ENABLED: 'true', BUDGET_DEFAULT_DAILY_USD: '1000000', ...keysDb },
    },
  ];
  const results: ColdStartResult[] = [];
  for (const c of configs) {
    const t0 = performance.now();
    let proc: Proc;
    try {
      // --cpu-prof --cpu-prof-target coldstart-postgres: what the first seconds after start spend.
      const profiled = opts['cpu-prof'] && opts['cpu-prof-target'].split(',').includes(c.name);
      proc = await startGateway(c.name, tmp, PROXY_CPUS, mock.origin, {
        env: { ...BARE_ENV, ...gatewayEnv, ...c.env, GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'keys' },
        yaml: KEYS_YAML,
        nodeFlags: [
          ...(opts['gateway-node-flag'] as string[]),
          ...(profiled ? ['--cpu-prof', `--cpu-prof-dir=${join(tmp, 'cpu-prof', c.name)}`] : []),
        ],
        ...(entry ? { entry } : {}),
      });
    } catch (err) {
      log(`${c.name}: did not start: ${(err as Error).message}`);
      continue;
    }
    procs.push(proc);
    const liveAfterMs = performance.now() - t0;
    const readyAfterMs = liveAfterMs + (await waitFor200(`${proc.origin}/health/ready`, 120_000));
    const spec: RequestSpec = {
      origin: proc.origin,
      path: '/v1/chat/completions',
      headers: { ...JSON_HEADERS, authorization: `Bearer ${API_KEY}` },
      body: bodyFn('miss', false),
    };
    const r = await coldStart(c.name, spec, proc.pid, { liveAfterMs, readyAfterMs }, up.latencyMs.p50, {
      rate,
      durationMs,
    });
    results.push(r);
    log(
      `${c.name}: ready after ${Math.round(readyAfterMs)} ms; first request ${r.firstRequestMs} ms; max ${r.result.latencyMs.max} ms; ${r.slower} slower than ${r.thresholdMs} ms; errors ${r.result.errors}; rss peak ${r.rssPeakMiB} MiB`,
    );
    await proc.stop();
  }
  return results;
}

/** The soak: --soak-minutes at --soak-rate against --soak-target, RSS after each window. */
async function runSoak(): Promise<SoakResult | null> {
  const t = targets.get(opts['soak-target']);
  if (!t || t.unavailable || !t.measured) {
    log(`soak: ${opts['soak-target']} not available (${t?.unavailable ?? 'not started'})`);
    return null;
  }
  const minutes = quick ? 1 : Number(opts['soak-minutes']);
  const spec: RequestSpec = {
    origin: t.origin,
    path: t.path,
    headers: t.headers,
    body: bodyFn('miss', false),
  };
  return soak(t.name, spec, t.measured.pid, {
    rate: Number(opts['soak-rate']),
    durationMs: minutes * 60_000,
    windowMs: quick ? 10_000 : Math.min(30_000, (minutes * 60_000) / 5),
    log,
  });
}

let counter = 0;
let paraphrases = 0;
function bodyFn(kind: BodyKind, stream: boolean): (i: number) => string {
  // Never the same text twice in a run: every lookup misses the exact cache and is embedded.
  if (kind === 'paraphrase') return () => paraphraseBody(paraphrases++);
  if (kind === 'hit') {
    const fixed = JSON.stringify(HIT_BODY);
    return () => fixed;
  }
  if (kind === 'semantic') {
    const fixed = JSON.stringify(SEMANTIC_QUERY);
    return () => fixed;
  }
  // Unique prompt and temperature 0.7: never a cache hit on any build.
  return () =>
    JSON.stringify({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `Benchmark prompt ${stamp} number ${counter++}: say hello.` }],
      temperature: 0.7,
      ...(stream ? { stream: true } : {}),
    });
}

export interface Measurement {
  point: string;
  target: string;
  repeat: number;
  order: number;
  result: LoadResult;
  cpuSeconds: number | null;
  cpuUsPerRequest: number | null;
  rssPeakMiB: number | null;
  /** Processes of other proxies stopped while this was measured (`--park`, decision 0199). */
  parked: number;
  /** semantic-load points: what the semantic gateway did over the measured window. */
  semantic?: SemanticWindow;
}

export interface SemanticWindow {
  /** The lookups sent beside the measured requests (null: none). */
  lookups: LoadResult | null;
  /** Skipped lookups, embedder errors and embeddings over the measured window (null: /metrics not read). */
  counters: SemanticCounters | null;
  /** CPU seconds of the pool's threads over the window (they are part of the gateway's CPU above too). */
  poolCpuSeconds: number | null;
}

/** The semantic lookups of a semantic-load point, sent over the warm-up and the measured window. */
function startLookups(point: Point): Promise<LoadResult> | null {
  const rate = point.semantic?.lookupRate;
  const t = point.semantic ? targets.get(point.semantic.target) : undefined;
  if (!rate || !t || t.unavailable) return null;
  const spec: RequestSpec = {
    origin: t.origin,
    path: t.path,
    headers: t.headers,
    body: bodyFn('paraphrase', false),
  };
  return runAtRate(spec, { rate, durationMs, warmupMs });
}

function logThreadCpu(
  label: string,
  before: Map<string, number>,
  after: Map<string, number>,
  n: number,
): void {
  if (n === 0) return;
  const parts = [...after]
    .map(([name, s]) => [name, ((s - (before.get(name) ?? 0)) / n) * 1e6] as const)
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(1)}`);
  log(`  thread CPU µs/req ${label}: ${parts.join(', ')}`);
}

async function measure(point: Point, t: Target, repeat: number, order: number): Promise<Measurement> {
  const spec: RequestSpec = {
    origin: t.origin,
    path: t.path,
    headers: t.headers,
    body: bodyFn(point.body, point.stream),
    stream: point.stream,
  };
  const sem = point.semantic ? targets.get(point.semantic.target) : undefined;
  // The measured proxy, and the one the semantic lookups go to, stay awake; the mock is never parked.
  parkAllBut(new Set([t.name, ...(sem ? [sem.name] : [])]));
  const stopped = parked.length;
  try {
    return { ...(await measureAwake(point, t, sem, spec, repeat, order)), parked: stopped };
  } finally {
    unpark();
  }
}

/**
 * The process ids stopped by `parkAllBut` (continued by `unpark`; also on the way out, so no proxy stays
 * stopped when a run fails).
 */
let parked: number[] = [];

/**
 * Stops (SIGSTOP) the process trees of every started proxy not named in `awake`. All proxies share the
 * proxy CPU: an idle one still wakes (an idle gateway ≈ 200 times a second, prom-client's event-loop-delay
 * sampling), and with them awake the Node.js targets were charged more CPU per request (decision 0199).
 */
function parkAllBut(awake: ReadonlySet<string>): void {
  if (!parkNeighbours) return;
  for (const target of targets.values()) {
    if (awake.has(target.name) || target.measured === null) continue;
    for (const pid of processTree(target.measured.pid)) {
      try {
        process.kill(pid, 'SIGSTOP');
        parked.push(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
}

function unpark(): void {
  for (const pid of parked) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // exited meanwhile
    }
  }
  parked = [];
}

async function measureAwake(
  point: Point,
  t: Target,
  sem: Target | undefined,
  spec: RequestSpec,
  repeat: number,
  order: number,
): Promise<Omit<Measurement, 'parked'>> {
  const lookups = startLookups(point);
  // Warm-up at the same load, not measured (JIT, connection pools).
  if (warmupMs > 0) {
    if (point.load.kind === 'rate') await runAtRate(spec, { rate: point.load.rate, durationMs: warmupMs });
    else await runClosedLoop(spec, { connections: point.load.connections, durationMs: warmupMs });
  }
  const pid = t.measured?.pid ?? null;
  const semPid = sem?.proc?.pid ?? null;
  const poolTids = semanticPinning?.tids ?? [];
  const counters0 = sem ? await scrapeSemantic(sem.origin) : null;
  const pool0 = semPid && poolTids.length > 0 ? threadsCpuSeconds(semPid, poolTids) : null;
  const cpu0 = pid ? treeCpuSeconds(pid) : null;
  const threads0 = pid && opts['thread-cpu'] ? cpuByThreadName(pid) : null;
  const rss = pid ? sampleRss(pid) : null;
  const result =
    point.load.kind === 'rate'
      ? await runAtRate(spec, { rate: point.load.rate, durationMs })
      : await runClosedLoop(spec, { connections: point.load.connections, durationMs });
  const cpu1 = pid ? treeCpuSeconds(pid) : null;
  if (pid && threads0)
    logThreadCpu(`${point.id} ${t.name}`, threads0, cpuByThreadName(pid), result.completed);
  const rssPeakMiB = rss ? rss.stop() : null;
  const pool1 = semPid && poolTids.length > 0 ? threadsCpuSeconds(semPid, poolTids) : null;
  const lookupResult = lookups ? await lookups : null;
  const semantic: SemanticWindow | undefined = sem
    ? {
        lookups: lookupResult,
        counters: countersBetween(counters0, await scrapeSemantic(sem.origin)),
        poolCpuSeconds: pool0 !== null && pool1 !== null ? Math.round((pool1 - pool0) * 1000) / 1000 : null,
      }
    : undefined;
  const cpuSeconds = cpu0 !== null && cpu1 !== null ? Math.round((cpu1 - cpu0) * 1000) / 1000 : null;
  const cpuUsPerRequest =
    cpuSeconds !== null && result.completed > 0
      ? Math.round((cpuSeconds / result.completed) * 1e6 * 10) / 10
      : null;
  // The lookups' background writes (embedded after their answers) drain before the next measurement.
  if (lookups) await new Promise((r) => setTimeout(r, 1000));
  return {
    point: point.id,
    target: t.name,
    repeat,
    order,
    result,
    cpuSeconds,
    cpuUsPerRequest,
    rssPeakMiB,
    ...(semantic ? { semantic } : {}),
  };
}

// ---------------------------------------------------------------- main

/**
 * Brings every measured process to its steady state before the first measurement (decision 0198):
 * closed-loop load (16 connections) until `--jit-warmup` requests (at most 60 s) per target and per kind
 * of request its points send. A Node process compiles its hot functions with TurboFan over its first
 * ≈ 10,000–15,000 requests (V8's `--trace-opt`: ≈ 530 optimisations in the gateway's first 5,000 requests,
 * 10 in requests 10,000–15,000); without this the first repeat of the first point measured that
 * compilation as CPU per request (e.g. `ours-prod` at 500 req/s 610 µs in the first repeat, 345 in the
 * second). Every target gets the same warm-up, peers included; idle RSS is read before it. The cold start
 * and the soak run processes of their own and are not warmed.
 */
async function warmUpTargets(plan: Point[]): Promise<void> {
  if (jitWarmupRequests <= 0) return;
  const kinds = new Map<string, Set<string>>();
  for (const point of plan) {
    // Semantic points would fill the index (and embed) with every request: their own warm-up only.
    if (point.semantic || point.body === 'semantic' || point.body === 'paraphrase') continue;
    for (const name of point.targets) {
      if (name === 'direct' || (onlyTargets && !onlyTargets.has(name))) continue;
      const set = kinds.get(name) ?? new Set<string>();
      set.add(`${point.body}${point.stream ? '+stream' : ''}`);
      kinds.set(name, set);
    }
  }
  for (const [name, set] of kinds) {
    const t = targets.get(name);
    if (!t || t.unavailable) continue;
    let completed = 0;
    for (const kind of set) {
      const [body, stream] = kind.split('+') as [BodyKind, string | undefined];
      const spec: RequestSpec = {
        origin: t.origin,
        path: t.path,
        headers: t.headers,
        body: bodyFn(body, stream === 'stream'),
        stream: stream === 'stream',
      };
      completed += await warmUp(spec, jitWarmupRequests, {
        maxMs: JIT_WARMUP_MAX_MS,
        sliceMs: quick ? 100 : 1000,
      });
    }
    log(`JIT warm-up ${name}: ${completed} requests (${[...set].join(', ')})`);
  }
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const load0 = loadavg();
  await startTargets();
  const plan = points();
  await warmUpTargets(plan);
  const measurements: Measurement[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const point of plan) {
      const available = point.targets.filter((n) => {
        if (onlyTargets && !onlyTargets.has(n)) return false;
        const t = targets.get(n);
        return t && !t.unavailable;
      });
      // Nothing to compare when only the baseline is there (e.g. no cache on this build).
      if (available.every((n) => n === 'direct')) continue;
      // Rotate the order each repeat so no target always runs first (or right after the same neighbour).
      const rotated = available.map((_, i) => available[(i + repeat) % available.length] as string);
      for (const [order, name] of rotated.entries()) {
        const t = targets.get(name) as Target;
        if (point.body === 'semantic')
          await post(t.origin, t.path, SEMANTIC_SEED, t.headers).catch(() => undefined);
        const m = await measure(point, t, repeat, order);
        measurements.push(m);
        const r = m.result;
        log(
          `r${repeat + 1}/${repeats} ${point.id} ${name}: ${r.throughput} req/s ok=${r.ok} err=${r.errors} p50=${r.latencyMs.p50} p99=${r.latencyMs.p99} ms` +
            (r.ttfbMs ? ` ttfb50=${r.ttfbMs.p50}` : '') +
            (m.cpuUsPerRequest !== null ? ` cpu=${m.cpuUsPerRequest} µs/req` : '') +
            (m.rssPeakMiB !== null ? ` rss=${m.rssPeakMiB} MiB` : '') +
            (m.semantic?.lookups
              ? ` | lookups ${m.semantic.lookups.throughput}/s p50=${m.semantic.lookups.latencyMs.p50} p99=${m.semantic.lookups.latencyMs.p99} ms`
              : '') +
            (m.semantic
              ? ` counters=${JSON.stringify(m.semantic.counters)} pool-cpu=${m.semantic.poolCpuSeconds ?? '—'} s`
              : ''),
        );
      }
    }
  }
  const coldStarts = only.has('coldstart') ? await runColdStarts() : [];
  const soakResult = only.has('soak') ? await runSoak() : null;
  // RSS back near idle after the load? Give the GC a moment.
  await new Promise((r) => setTimeout(r, quick ? 500 : 5000));
  for (const t of targets.values())
    if (t.measured && !t.unavailable) t.rssAfterMiB = treeRssMiB(t.measured.pid);

  const result = {
    version: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: {
      cpus: ncpu,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      kernel: release(),
      node: process.version,
      loadavgStart: load0.map((x) => Math.round(x * 100) / 100),
      loadavgEnd: loadavg().map((x) => Math.round(x * 100) / 100),
      pinning: pin ? { load_and_upstream: LOAD_CPUS, proxies: PROXY_CPUS, self_pinned: pinnedSelf } : null,
      database: databaseNote,
      services: services?.note ?? null,
    },
    settings: {
      quick,
      repeats,
      durationS: durationMs / 1000,
      warmupS: warmupMs / 1000,
      jitWarmupRequests,
      parkNeighbours,
      rates,
      connections: conns,
      streamRate,
      featureRate,
      workers,
      semanticMissRate,
      semanticRate,
    },
    targets: [...targets.values()].map((t) => ({
      name: t.name,
      description: t.description,
      unavailable: t.unavailable,
      rssIdleMiB: t.rssIdleMiB,
      rssSettledMiB: t.rssSettledMiB ?? null,
      rssAfterMiB: t.rssAfterMiB,
    })),
    points: plan.map(({ id, group, label, targets: ts, load, body, stream, semantic }) => ({
      id,
      group,
      label,
      targets: ts,
      load,
      body,
      stream,
      ...(semantic ? { semantic } : {}),
    })),
    measurements,
    semanticPinning,
    coldStarts,
    soaks: soakResult ? [soakResult] : [],
  };
  writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${out}.md`, `${renderMarkdown(result)}\n${renderPhases(result.coldStarts, result.soaks)}`);
  formatJson(`${out}.json`);
  log(`wrote ${out}.json and ${out}.md`);
}

/** Once: a signal during the run and the run's own way out may both ask for it. */
let shuttingDown: Promise<void> | null = null;
function shutdown(failed: boolean): Promise<void> {
  shuttingDown ??= stopEverything(failed);
  return shuttingDown;
}

async function stopEverything(failed: boolean): Promise<void> {
  unpark();
  services?.restore();
  await Promise.all(procs.map((p) => p.stop().catch(() => undefined)));
  await dropBenchDatabase();
  if (failed) log(`process logs kept in ${tmp}`);
  else if (opts['cpu-prof']) log(`CPU profiles in ${join(tmp, 'cpu-prof')}`);
  else if (opts['keep-logs']) log(`process logs kept in ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

// Interrupted (Ctrl-C): the same way out as a failed run, so no proxy stays stopped and the services get
// their CPUs back.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void shutdown(true).finally(() => process.exit(130));
  });
}

let code = 0;
try {
  await main();
} catch (err) {
  log(`failed: ${(err as Error).stack ?? err}`);
  code = 1;
} finally {
  await shutdown(code !== 0);
}
process.exit(code);
