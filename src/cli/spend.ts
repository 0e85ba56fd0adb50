/**
 * `llm-gateway spend …` — spend data maintenance against the gateway's database (DATABASE_URL, else the
 * PGlite file database under GATEWAY_DATA_DIR):
 *
 *   llm-gateway spend rebuild-rollups [--from YYYY-MM-DD] [--to YYYY-MM-DD]
 *       rebuilds the daily rollups from the usage records (default: every day that has records), one
 *       transaction per day, with the statement the usage writer uses (stores/usage-rollups.ts)
 *   llm-gateway spend maintain
 *       creates the day partitions ahead and applies `accounting.retention_days` now (the gateway does it
 *       hourly by itself)
 */
import { parseArgs } from 'node:util';
import { UsageMaintenance } from '../accounting/usage-maintenance.js';
import type { Config } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { rebuildRollups, recordDayRange } from '../stores/usage-rollups.js';
import { createMetrics } from '../telemetry/metrics.js';
import { cliLogger, openCliDatabase } from './database.js';
import { UsageError } from './keys.js';

export const SPEND_USAGE = `Usage:
  llm-gateway spend rebuild-rollups [--from YYYY-MM-DD] [--to YYYY-MM-DD]
                                    rebuild the daily spend rollups from the usage records
  llm-gateway spend maintain        create the day partitions ahead and apply the retention now
`;

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function day(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  if (!DAY.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
    throw new UsageError(`${flag} must be a UTC day (YYYY-MM-DD)`);
  }
  return value;
}

/** Runs one `spend` subcommand; returns the exit code. */
export async function runSpendCommand(
  args: string[],
  config: Readonly<Config>,
  io: { out(text: string): void },
  clock: Clock = systemClock,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      config: { type: 'string', short: 'c' },
    },
    allowPositionals: true,
  });
  const sub = positionals[0];
  if (sub !== 'rebuild-rollups' && sub !== 'maintain')
    throw new UsageError(sub ? `unknown spend command "${sub}"` : 'missing spend command');
  const from = day(values.from, '--from');
  const to = day(values.to, '--to');
  const logger = cliLogger();
  const metrics = createMetrics({ processMetrics: false });
  const database = await openCliDatabase(config, { waitMs: 30_000 });
  try {
    if (sub === 'maintain') {
      const maintenance = new UsageMaintenance({
        database: () => database,
        retentionDays: config.accounting.retention_days,
        aheadDays: config.accounting.partitions_ahead_days,
        intervalMs: config.accounting.maintenance_interval_ms,
        clock,
        logger,
        metrics,
      });
      const { created, dropped } = await maintenance.run();
      io.out(
        `partitions created: ${created.join(', ') || 'none'}\npartitions dropped: ${dropped.join(', ') || 'none'}\n`,
      );
      return 0;
    }
    const range = await recordDayRange(database.db);
    const startDay = from ?? range?.startDay;
    const endDay = to ?? range?.endDay;
    if (startDay === undefined || endDay === undefined) {
      io.out('no usage records: nothing to rebuild\n');
      return 0;
    }
    if (startDay > endDay) throw new UsageError('--from must not be after --to');
    const started = clock.now();
    const done = await rebuildRollups(database.db, { startDay, endDay }, (d, records) => {
      if (records > 0) io.out(`${d}: ${records} records\n`);
    });
    const seconds = (clock.now() - started) / 1000;
    io.out(
      `rebuilt the rollups of ${done.days} days from ${done.records} records in ${seconds.toFixed(1)} s ` +
        `(${startDay} … ${endDay})\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}
