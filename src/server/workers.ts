/**
 * `--workers N` / `WORKERS=N`: N gateway processes on one port with node:cluster, to use more than one
 * core. The primary serves no request itself (it merges the workers' metrics for their `/metrics`,
 * cluster-metrics.ts): it forks the workers, forks a new one when a worker dies, and on
 * SIGTERM/SIGINT passes the signal on, waits for every worker's own graceful shutdown (bounded by the grace
 * period plus a margin, then SIGKILL) and exits. Each worker has its own memory: in-memory caches and rate
 * limits are per worker, so a fleet (or workers that must agree) uses Redis (`REDIS_URL`).
 */
import cluster, { type Worker } from 'node:cluster';
import type { Config } from '../config/schema.js';
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
 * Why `count` workers cannot run with this configuration, or null. The embedded PGlite database belongs to
 * one process (it would be corrupted by several), so workers need PostgreSQL (`DATABASE_URL`); an in-memory
 * PGlite (`memory://`) is private to each worker and allowed.
 */
export function workersProblem(count: number, config: Readonly<Config>): string | null {
  if (count <= 1 || config.database.url || config.database.data_dir === 'memory://') return null;
  return (
    `--workers ${count} needs DATABASE_URL (PostgreSQL): the embedded database at ${config.database.data_dir} ` +
    'can be opened by one process only, and every worker would open it. Set DATABASE_URL, or run one ' +
    'process (--workers 1), or run several instances each with its own GATEWAY_DATA_DIR.'
  );
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
