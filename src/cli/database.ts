/**
 * The database of a CLI command (`keys`, `orgs`, `teams`, `spend`, `prompts`, `migrate`): opened as the
 * gateway opens it (same migrations), but with an end. The gateway retries an unreachable database in the
 * background while it serves; a command instead gives up after a few attempts or a deadline and throws
 * `CliDatabaseError` naming the database and the real error (ECONNREFUSED, "database … does not exist", …),
 * which `main.ts` prints on stderr with exit 1.
 *
 * The deadline's timer is referenced on purpose: the database's retry backoff is unref'd (it must not hold the
 * gateway's shutdown), so without it nothing kept the process alive between two attempts and Node exited 0 in
 * the middle of the command (audit G, F1).
 *
 * @example
 * const database = await openCliDatabase(config, { lockedHint: 'use the admin API instead' });
 * try { … database.db … } finally { await database.close(); }
 */
import pino from 'pino';
import type { Config } from '../config/schema.js';
import { type Database, openDatabase } from '../stores/database.js';
import { DatabaseLockedError } from '../stores/pglite-lock.js';
import { createLogger, type Logger } from '../telemetry/logger.js';
import { createMetrics } from '../telemetry/metrics.js';

/** The database did not open: the message names it and says why. Exit 1. */
export class CliDatabaseError extends Error {}

export interface CliDatabaseOptions {
  /** Added to the message when a running gateway holds the embedded database: what to do instead. */
  lockedHint?: string;
  /** Attempts before giving up with the last error (default 3: about 2 s against a refused connection). */
  attempts?: number;
  /** The longest wait in all, however many attempts are left (default 15 s). */
  waitMs?: number;
}

const DEFAULT_ATTEMPTS = 3;
const DEFAULT_WAIT_MS = 15_000;

/**
 * Opens the configured database for a command and waits until it is open and migrated; throws
 * `CliDatabaseError` (the database closed again) when it does not get there within the attempts or the wait.
 */
export async function openCliDatabase(
  config: Readonly<Config>,
  options: CliDatabaseOptions = {},
): Promise<Database> {
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const target = describeDatabase(config.database);
  let database: Database;
  try {
    database = openDatabase(
      {
        url: config.database.url,
        dataDir: config.database.data_dir,
        maxAttempts: options.attempts ?? DEFAULT_ATTEMPTS,
      },
      // The retries are not logged: the command reports the outcome once, on stderr.
      { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) },
    );
  } catch (err) {
    if (err instanceof DatabaseLockedError && options.lockedHint) {
      throw new CliDatabaseError(`${err.message}\n${options.lockedHint}`);
    }
    throw err;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      database.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          void database
            .ping()
            .then(({ error }) =>
              reject(
                new CliDatabaseError(
                  `the database ${target} did not answer within ${waitMs / 1000} s${error ? `: ${error}` : ''}`,
                ),
              ),
            );
        }, waitMs);
      }),
    ]);
    return database;
  } catch (err) {
    await database.close();
    if (err instanceof CliDatabaseError) throw err;
    throw new CliDatabaseError(`cannot open the database ${target}: ${errorMessage(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The logger of a CLI command: warnings and errors on stderr, written at once (the command exits right
 * after), so that stdout holds only the command's output (`--json` stays parseable).
 */
export function cliLogger(): Logger {
  return createLogger({ level: 'warn', destination: pino.destination({ dest: 2, sync: true }) });
}

/** Where the command connects, without the password: `at host:port/db (PostgreSQL, DATABASE_URL)`, … */
export function describeDatabase(database: Readonly<Config['database']>): string {
  if (!database.url) {
    return database.data_dir === 'memory://'
      ? 'in memory (PGlite)'
      : `at ${database.data_dir} (PGlite, GATEWAY_DATA_DIR)`;
  }
  try {
    const url = new URL(database.url);
    return `at ${url.host}${url.pathname} (PostgreSQL, DATABASE_URL)`;
  } catch {
    return '(PostgreSQL, DATABASE_URL)';
  }
}

/** A connection error's text: Node's AggregateError (every address refused) has an empty message. */
function errorMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.message) return err.message;
  const inner = err instanceof AggregateError ? err.errors.map(errorMessage).filter(Boolean) : [];
  const code = (err as { code?: unknown }).code;
  return inner.join('; ') || (typeof code === 'string' ? code : err.name);
}
