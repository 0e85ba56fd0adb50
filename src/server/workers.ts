/**
 * `--workers N` / `WORKERS=N`: N gateway processes on one port with node:cluster, to use more than one
 * core. The primary serves no request itself (it merges the workers' metrics for their `/metrics`,
 * cluster-metrics.ts): it forks the workers, forks a new one when a worker dies, and on
 * SIGTERM/SIGINT passes the signal on, waits for every worker's own graceful shutdown (bounded by the grace
 * period plus a margin, then SIGKILL) and exits. Each worker has its own memory: workers need PostgreSQL,
 * and Redis for rate limits and budgets (`workersProblem`); an in-memory cache is per worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { type Config, redisConfigured } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { createLogger } from '../telemetry/logger.js';
import { serveInstanceMetrics } from './cluster-metrics.js';

const MAX_WORKERS = 64;

/** The worker count from `--workers` / `WORKERS`; 1 when unset; the configuration problem when invalid. */
export function parseWorkers(raw: string | undefined): number | string {
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS) {
    return `workers (--workers or env WORKERS): expected a whole number from 1 to ${MAX_WORKERS}, got "${raw}"`;
  }
  return n;
}

/**
 * Why `count` workers cannot run with this configuration, or null (every reason, one per line). Workers are
 * separate processes: what one keeps in its own memory the others never see. So they need
 * - PostgreSQL (`DATABASE_URL`): the embedded PGlite database can be opened by one process only, and an
 *   in-memory one (`memory://`) would give each worker its own keys, usage and prompts (a key created
 *   through one worker refused by the next);
 * - Redis, when rate limits or budgets apply: in-process buckets and budget counters would give each worker
 *   the whole limit (DESIGN §7: budgets hold across replicas), decision 0061 amended.
 */
export function workersProblem(count: number, config: Readonly<Config>): string | null {
  if (count <= 1) return null;
  const problems: string[] = [];
  if (!config.database.url) {
    problems.push(
      config.database.data_dir === 'memory://'
        ? `--workers ${count} needs DATABASE_URL (PostgreSQL): with GATEWAY_DATA_DIR=memory:// each worker ` +
            'would have its own keys, usage and prompts, and a key created through one would be refused by ' +
            'the others. Set DATABASE_URL, or run one process (--workers 1).'
        : `--workers ${count} needs DATABASE_URL (PostgreSQL): the embedded database at ` +
            `${config.database.data_dir} can be opened by one process only, and every worker would open it. ` +
            'Set DATABASE_URL, or run one process (--workers 1), or run several instances each with its own ' +
            'GATEWAY_DATA_DIR.',
    );
  }
  const limits = [
    config.rate_limit.enabled ? 'rate limits' : null,
    config.accounting.enabled ? 'budgets' : null,
  ].filter((x): x is string => x !== null);
  const shared = redisConfigured(config.redis) && config.rate_limit.backend !== 'memory';
  if (limits.length > 0 && !shared) {
    problems.push(
      `--workers ${count} needs Redis (REDIS_URL, or REDIS_MODE cluster/sentinel) for ${limits.join(' and ')}: ` +
        "in each worker's memory every worker would allow the whole limit. Set REDIS_URL, or turn them off " +
        '(RATE_LIMIT_ENABLED=false, USAGE_ENABLED=false), or run one process (--workers 1).',
    );
  }
  return problems.length > 0 ? problems.join('\n') : null;
}

/**
 * Runs the supervising primary until a signal stops it. `clock` (monotonic) times how long each worker
 * lived, to hold back restarts of workers that die at once.
 */
export function runPrimary(
  count: number,
  config: Readonly<Config>,
  clock: Pick<Clock, 'now'> = systemClock,
): void {
  const logger = createLogger({ level: config.log.level });
  let stopping = false;
  const started = new Map<number, number>();
  const fork = (): Worker => {
    const worker = cluster.fork();
    started.set(worker.id, clock.now());
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that dies at once (bad port, crash at start) is not restarted in a tight loop.
    const lived = clock.now() - (started.get(worker.id) ?? 0);
    started.delete(worker.id);
    logger.error(
      { event: 'worker.exit', pid: worker.process.pid, code, signal, lived_ms: lived },
      'worker exited; starting another',
    );
    setTimeout(fork, lived < 1000 ? 1000 : 0);
  });
  // The workers' /metrics ask here for the whole instance's (server/cluster-metrics.ts, decision 0224).
  serveInstanceMetrics(cluster);
  for (let i = 0; i < count; i++) fork();
  logger.info({ event: 'workers.start', workers: count, pid: process.pid }, `starting ${count} workers`);

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown.start', signal, workers: count }, 'stopping workers');
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = alive.map(
      (w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))),
    );
    for (const w of alive) w.process.kill(signal);
    // Each worker bounds its own drain by the grace period; the margin covers flushing and exit.
    const killer = setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill('SIGKILL');
    }, config.server.shutdown_grace_ms + 5_000);
    killer.unref();
    void Promise.all(exits).then(() => {
      clearTimeout(killer);
      logger.info({ event: 'shutdown.done' }, 'all workers stopped');
      logger.flush(() => process.exit(0));
      setTimeout(() => process.exit(0), 2000).unref();
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
