/**
 * What every feature factory receives besides its config slice: the stores (built once by the composition
 * root), the logger, the metrics registry and the clock.
 */
import type { Clock } from '../core/clock.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { Database } from './database.js';
import type { RedisStore } from './redis.js';

export interface FeatureDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** The shared Redis (single server, Sentinel or Cluster); null when none is configured (memory backends). */
  redis: RedisStore | null;
  /** The database, opened (and migrated, in the background) on first use. */
  database(): Database;
}
