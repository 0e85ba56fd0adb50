/**
 * Warms the usage writer's statement before the gateway reports ready. The first flush otherwise runs the
 * statement (insert + three rollups, `stores/usage-rollups.ts`) for the first time while requests are in
 * flight: PGlite compiles PostgreSQL's code paths in WebAssembly on first use, on the event loop, and the
 * first flush stalled every request in flight for up to ≈ 120 ms half a second after ready (docs/performance.md,
 * "Cold start"). Here the statement runs once inside a transaction that is rolled back: nothing is written.
 *
 * Never fails or holds start-up: a database that is not ready yet is skipped (the first flush pays then, as
 * before), and the warm-up is bounded in time.
 */
import type { Logger } from 'pino';
import type { Database } from '../stores/database.js';
import type { DatabaseSchema } from '../stores/schema.js';
import { insertUsageBatch, type UsageRow } from '../stores/usage-rollups.js';

/** Thrown inside the transaction to roll it back. */
class RollBack extends Error {}

/** A record of every column the writer sets; its request id names it as the warm-up's. */
export function warmUpRow(timestamp: string): UsageRow {
  return {
    timestamp,
    request_id: 'warm-up-rolled-back',
    user_id: 'warm-up',
    api_key_id: null,
    model: 'warm-up',
    provider: 'warm-up',
    input_tokens: 1,
    output_tokens: 1,
    cached_input_tokens: 0,
    cost_usd: '0.000001',
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
    guardrails: null,
    client_request_id: null,
    endpoint: 'chat',
    route: 'warm-up',
    org_id: 'warm-up',
    team_id: 'warm-up',
    tags: ['warm-up'],
    prompt_id: null,
    experiment_id: null,
    variant: null,
  };
}

/**
 * Runs the writer's statement once and rolls it back. Resolves `true` when it ran, `false` when it was
 * skipped or failed (logged at debug: nothing is wrong with the gateway then).
 */
export async function warmUpUsageWriter(
  database: Database,
  timestamp: string,
  logger: Pick<Logger, 'debug'>,
  timeoutMs = 5000,
): Promise<boolean> {
  if (!database.isReady()) return false;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const run = database.db
    .transaction()
    .execute(async (trx) => {
      await insertUsageBatch<DatabaseSchema>(trx, [warmUpRow(timestamp)]);
      throw new RollBack('warm-up: rolled back');
    })
    .then(
      () => false,
      (err: unknown) => {
        if (err instanceof RollBack) return true;
        logger.debug(
          { event: 'usage.warm_up_failed', error: err instanceof Error ? err.message : String(err) },
          'usage writer warm-up skipped',
        );
        return false;
      },
    );
  try {
    return await Promise.race([run, bound]);
  } finally {
    clearTimeout(timer);
  }
}
