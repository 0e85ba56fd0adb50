/**
 * The gateway's relational database through Kysely: PostgreSQL when `DATABASE_URL` is set (a `pg` pool),
 * otherwise PGlite (PostgreSQL compiled to WebAssembly, in process) in a file database under
 * `database.data_dir` — or in memory with `data_dir: memory://`. Both run the same SQL and the same
 * migrations (`src/stores/migrations/`), so what is tested on one holds on the other.
 *
 * Opening never blocks the gateway: `ready` settles when the database answers and is migrated; until
 * then (and whenever it is down) the components that use it fall back as they document (the usage
 * recorder spools to disk, for instance). Opening is retried in the background with backoff.
 *
 * A PGlite file database belongs to one process: `openDatabase` takes `<data_dir>.lock` first and throws
 * `DatabaseLockedError` (naming the directory and what to do) when another process holds it
 * (see pglite-lock.ts); `close()` releases it.
 */
import { Kysely, Migrator, PostgresDialect, type PostgresPool, sql } from 'kysely';
import pg from 'pg';
import { type Clock, systemClock } from '../core/clock.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { migrationProvider } from './migrations/index.js';
import { acquirePgliteLock, type PgliteLock } from './pglite-lock.js';
import { pglitePool } from './pglite-pool.js';
import type { DatabaseSchema } from './schema.js';

export type Db = Kysely<DatabaseSchema>;

export interface DatabaseSettings {
  /** postgres://… ; null = PGlite. */
  url: string | null;
  /** PGlite data directory, or `memory://` for an in-memory database. */
  dataDir: string;
  /**
   * Attempts to open and migrate before `ready` rejects with the last attempt's error. Default: no limit
   * (the gateway keeps retrying in the background while it serves); a CLI command gives up (src/cli/database.ts).
   */
  maxAttempts?: number;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  readonly db: Db;
  /**
   * Resolves once the database answered and migrations ran (retried in the background until then). Rejects
   * when it is closed first, or with the last error after `maxAttempts` failed attempts.
   */
  readonly ready: Promise<void>;
  isReady(): boolean;
  ping(timeoutMs?: number): Promise<{ status: 'ok' | 'down' | 'starting'; kind: string; error?: string }>;
  close(): Promise<void>;
}

/** Runs every pending migration. Safe to run from several instances at once (Kysely takes a lock). */
export async function migrate(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

// BIGINT (20) as a JS number: counters and token totals stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

export function openDatabase(
  settings: DatabaseSettings,
  deps: { logger: Logger; metrics: Metrics; clock?: Pick<Clock, 'wallNow'> },
): Database {
  const kind = settings.url ? 'postgres' : 'pglite';
  // Before anything touches the directory: a second process must not open it (throws DatabaseLockedError).
  const lock: PgliteLock | null =
    !settings.url && settings.dataDir !== 'memory://'
      ? acquirePgliteLock(settings.dataDir, deps.clock ?? systemClock)
      : null;
  const pool: PostgresPool = settings.url
    ? (new pg.Pool({
        connectionString: settings.url,
        max: 10,
        connectionTimeoutMillis: 2_000,
        idleTimeoutMillis: 30_000,
        application_name: 'llm-gateway',
      }) as unknown as PostgresPool)
    : pglitePool(settings.dataDir);
  if (pool instanceof pg.Pool) {
    // A client losing its connection (database restart) must not crash the process: the pool handles
    // idle clients ('error'), a listener per client covers those checked out when the socket breaks.
    const onError = (err: Error) => {
      deps.metrics.dependencyErrors.inc({ dependency: 'database' });
      deps.logger.warn(
        { event: 'dependency.error', dependency: 'database', error: err.message },
        'database error',
      );
    };
    pool.on('error', onError);
    pool.on('connect', (client: pg.PoolClient) => client.on('error', onError));
  }
  const db = new Kysely<DatabaseSchema>({ dialect: new PostgresDialect({ pool }) });

  let ready = false;
  let closed = false;
  let lastError: string | undefined;
  const maxAttempts = settings.maxAttempts ?? Number.POSITIVE_INFINITY;
  const readyPromise = (async () => {
    for (let attempt = 1; !closed; attempt++) {
      try {
        const applied = await migrate(db);
        ready = true;
        deps.logger.info({ event: 'database.ready', kind, migrations_applied: applied }, 'database ready');
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        deps.metrics.dependencyErrors.inc({ dependency: 'database' });
        if (attempt >= maxAttempts) throw err;
        deps.logger.warn(
          { event: 'dependency.error', dependency: 'database', attempt, error: lastError },
          'database not ready; retrying',
        );
        // Unref'd: the backoff alone does not keep a process alive (the gateway's server does; a CLI
        // command waits with its own deadline).
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * 2 ** attempt, 5_000)).unref());
      }
    }
    throw new Error('database closed before it was ready');
  })();
  readyPromise.catch(() => undefined);

  return {
    kind,
    db,
    ready: readyPromise,
    isReady: () => ready,
    async ping(timeoutMs = 1_000) {
      // Not open yet: `starting` until an attempt failed, then `down` (with why) so /health says degraded.
      if (!ready)
        return lastError ? { status: 'down', kind, error: lastError } : { status: 'starting', kind };
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          sql`select 1`.execute(db),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { status: 'ok', kind };
      } catch (err) {
        return { status: 'down', kind, error: err instanceof Error ? err.message : String(err) };
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      await db.destroy().catch(() => undefined);
      lock?.release();
    },
  };
}

/**
 * Opens the database at start-up (before the gateway listens), so no request waits for it: waits until it
 * is open and migrated, at most `waitMs` (PostgreSQL that is down does not hold the start: the gateway
 * serves and the components fall back as documented). True when it is ready.
 */
export async function openAtStart(database: Database, waitMs: number, logger: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    database.ready.then(
      () => 'ready' as const,
      () => 'failed' as const,
    ),
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), waitMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome !== 'ready') {
    logger.warn(
      { event: 'database.not_ready_at_start', kind: database.kind, waited_ms: waitMs },
      'the database is not ready yet; serving without it (usage records are spooled until it is)',
    );
  }
  return outcome === 'ready';
}
