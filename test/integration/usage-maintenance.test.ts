/**
 * Usage partition maintenance as the gateway runs it (PGlite, the embedded default): partitions created
 * ahead of the clock's day, retention from the configuration dropping old days, rollups kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { UsageMaintenance } from '../../src/accounting/usage-maintenance.js';
import { loadConfig } from '../../src/config/load.js';
import { openDatabase } from '../../src/stores/database.js';
import { ensurePartitions, partitionDays } from '../../src/stores/usage-partitions.js';
import { insertUsageBatch } from '../../src/stores/usage-rollups.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { fakeClock } from '../helpers/fake-clock.js';

test('USAGE_RETENTION_DAYS and USAGE_PARTITIONS_AHEAD_DAYS drive the maintenance pass', async () => {
  const config = loadConfig({ env: { USAGE_RETENTION_DAYS: '7', USAGE_PARTITIONS_AHEAD_DAYS: '2' } });
  assert.equal(config.accounting.retention_days, 7);
  assert.equal(config.accounting.partitions_ahead_days, 2);
  assert.equal(loadConfig({ env: {} }).accounting.retention_days, null);
  assert.throws(() => loadConfig({ env: { USAGE_RETENTION_DAYS: '0' } }), /retention_days/);

  const logger = createLogger({ level: 'silent' });
  const metrics = createMetrics({ processMetrics: false });
  const database = openDatabase({ url: null, dataDir: 'memory://' }, { logger, metrics });
  try {
    await database.ready;
    const old = ['2026-02-20', '2026-02-21', '2026-02-22'];
    await ensurePartitions(database.db, old);
    await insertUsageBatch(
      database.db,
      old.map((day, i) => ({
        timestamp: `${day}T12:00:00.000Z`,
        request_id: `r-${i}`,
        user_id: 'u',
        api_key_id: null,
        model: 'm',
        provider: 'p',
        input_tokens: 1,
        output_tokens: 1,
        cached_input_tokens: 0,
        cost_usd: '1',
        cached: false,
        cache_type: null,
        saved_usd: '0',
        latency_ms: 1,
        status: 'success',
        http_status: 200,
        estimated: false,
        stream: false,
        prompt_name: null,
        prompt_version: null,
      })),
    );
    const maintenance = new UsageMaintenance({
      database: () => database,
      retentionDays: config.accounting.retention_days,
      aheadDays: config.accounting.partitions_ahead_days,
      intervalMs: config.accounting.maintenance_interval_ms,
      clock: fakeClock({ epochMs: Date.UTC(2026, 2, 1, 9) }),
      logger,
      metrics,
    });
    // 2026-03-01 with 7 days kept: days before 2026-02-22 go; yesterday, today and 2 days ahead exist.
    assert.deepEqual(await maintenance.run(), {
      created: ['2026-02-28', '2026-03-01', '2026-03-02', '2026-03-03'],
      dropped: ['2026-02-20', '2026-02-21'],
    });
    assert.deepEqual(await partitionDays(database.db), [
      '2026-02-22',
      '2026-02-28',
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
    ]);
    assert.deepEqual(await maintenance.run(), { created: [], dropped: [] });
    const rollups = await sql<{
      days: number;
    }>`select count(distinct day)::int as days from usage_daily_team`.execute(database.db);
    assert.equal(rollups.rows[0]?.days, 3, 'the rollups of dropped days are kept');
    await maintenance.close();
  } finally {
    await database.close();
  }
});
