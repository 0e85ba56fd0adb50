/**
 * Usage table maintenance (DESIGN §8, decision 0105): creates the day partitions of `usage_records` ahead
 * of time and applies the retention setting, once the database is ready and then every
 * `accounting.maintenance_interval_ms`. Every instance runs it; the partition helpers take an advisory lock,
 * so instances doing it at once wait for each other. A failure is logged and counted, and tried again at
 * the next run (records never wait for it: a day without a partition goes to the default partition).
 *
 * Retention: with `retention_days: N`, the partitions of UTC days before `today − N` are dropped (whole
 * tables: no row-by-row delete). The daily rollups are kept, so reports over those days still answer.
 *
 * @example
 * const maintenance = new UsageMaintenance({ database, retentionDays: 90, aheadDays: 3, intervalMs: 3_600_000,
 *   clock, logger, metrics });
 * maintenance.start();
 */
import type { Clock } from '../core/clock.js';
import type { Database } from '../stores/database.js';
import { daysAround, dropPartitionsBefore, ensurePartitions } from '../stores/usage-partitions.js';
import { dayOf } from '../stores/usage-rollups.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';

const DAY_MS = 86_400_000;

/** The UTC days (`YYYY-MM-DD`) whose partitions a pass created and dropped. */
export interface Outcome {
  created: string[];
  dropped: string[];
}

export interface UsageMaintenanceOptions {
  database: () => Database;
  /** Days of records kept; null = all. */
  retentionDays: number | null;
  /** Partitions created ahead of today. */
  aheadDays: number;
  intervalMs: number;
  clock: Pick<Clock, 'wallNow'>;
  logger: Logger;
  metrics: Metrics;
}

export class UsageMaintenance {
  readonly #options: UsageMaintenanceOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<Outcome> | null = null;

  constructor(options: UsageMaintenanceOptions) {
    this.#options = options;
  }

  /** Runs once the database is ready, then on the interval. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.run(), this.#options.intervalMs);
    this.#timer.unref();
    this.#options
      .database()
      .ready.then(() => this.run())
      .catch(() => undefined);
  }

  /** One maintenance pass (never rejects): the days created and dropped. */
  run(): Promise<Outcome> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #pass(): Promise<Outcome> {
    const { logger, metrics, retentionDays, aheadDays } = this.#options;
    const database = this.#options.database();
    if (!database.isReady()) return { created: [], dropped: [] };
    const now = this.#options.clock.wallNow();
    try {
      const created = await ensurePartitions(database.db, daysAround(now, 1, aheadDays));
      let dropped: string[] = [];
      if (retentionDays !== null) {
        const cutoff = dayOf(Math.floor(now / DAY_MS) * DAY_MS - retentionDays * DAY_MS);
        dropped = await dropPartitionsBefore(database.db, cutoff);
      }
      if (created.length > 0 || dropped.length > 0) {
        logger.info(
          { event: 'usage.partitions', created, dropped, retention_days: retentionDays },
          'usage record partitions maintained',
        );
      }
      return { created, dropped };
    } catch (err) {
      metrics.dependencyErrors.inc({ dependency: 'database' });
      logger.warn(
        {
          event: 'usage.partitions_failed',
          dependency: 'database',
          error: err instanceof Error ? err.message : String(err),
        },
        'usage record partition maintenance failed; trying again at the next run',
      );
      return { created: [], dropped: [] };
    }
  }

  /** Stops the timer (waits for a pass that is running). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
