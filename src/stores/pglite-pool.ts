/**
 * The embedded database (PGlite) behind the shape of a `pg` pool, for Kysely's PostgreSQL dialect: one
 * PGlite instance is one connection, handed out one at a time (a transaction holds it until it releases it).
 *
 * Statements go through PGlite's own `query`, which parses and plans each one anew (unnamed statement). A
 * statement whose text begins with `preparedMarker(name)` is sent as a named statement instead: parsed once,
 * then only bound and executed (decision 0196). That is through node-postgres's client on PGlite's
 * node-postgres connection (`@electric-sql/pglite/node-postgres`), bound to the same instance, so it runs in
 * the same session and transaction as the statements around it. Only the usage writer's statement is marked:
 * its parse was about a fifth of each record's cost. On PostgreSQL the marker is a plain comment (a named
 * statement there would break behind a transaction-pooling PgBouncer).
 */
import { mkdirSync } from 'node:fs';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import pg from 'pg';
import { noTierUpForDatabase } from '../core/wasm-tiering.js';
import { initPgliteDataDir, pgliteStartParams } from './pglite-memory.js';

type PGlite = import('@electric-sql/pglite').PGlite;

const PREPARED = '/* prepared: ';

/** A comment to start a statement with: prepared once under `name` on the embedded database. */
export function preparedMarker(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`prepared statement name "${name}" is not a plain identifier`);
  return `${PREPARED}${name} */ `;
}

/** The name a statement's text was marked with, or null. */
export function preparedName(text: string): string | null {
  if (!text.startsWith(PREPARED)) return null;
  const end = text.indexOf(' */', PREPARED.length);
  return end < 0 ? null : text.slice(PREPARED.length, end);
}

async function openPglite(dataDir: string): Promise<PGlite> {
  const { PGlite } = await import('@electric-sql/pglite');
  const startParams = pgliteStartParams(PGlite.defaultStartParams);
  // Run as V8's baseline compiler compiles it, never tiered up (decisions 0158, 0168).
  if (dataDir === 'memory://') return noTierUpForDatabase(() => PGlite.create({ startParams }));
  mkdirSync(dataDir, { recursive: true });
  // A new directory is created (initdb, ~770 MiB at its peak) in a child process, not in this one.
  await initPgliteDataDir(dataDir, startParams);
  return noTierUpForDatabase(() => PGlite.create(dataDir, { startParams }));
}

/**
 * node-postgres's client on PGlite's node-postgres connection to `db`, for named statements. A new client
 * knows of no prepared statement, while the database session (one per PGlite instance) may still hold those
 * of a client that broke: they are dropped first, or the next Parse of the same name would fail for good
 * ("prepared statement already exists").
 */
export async function openNamedClient(db: PGlite): Promise<pg.Client> {
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const client = new pg.Client(createPgConfig(db) as unknown as pg.ClientConfig);
  await client.connect();
  await client.query('deallocate all');
  return client;
}

/** A `pg`-pool-shaped wrapper over one PGlite instance (opened on the first `connect`). */
export function pglitePool(dataDir: string): PostgresPool {
  let instance: Promise<PGlite> | null = null;
  let queue: Promise<void> = Promise.resolve();
  // node-postgres's client on the same instance, for named statements; replaced if it ever breaks.
  let named: Promise<pg.Client> | null = null;
  const namedClient = (db: PGlite): Promise<pg.Client> => {
    if (named) return named;
    const opening = openNamedClient(db).then((client) => {
      // Without a listener an 'error' would be thrown; the query in flight is rejected either way.
      client.on('error', () => {
        if (named === opening) named = null;
      });
      return client;
    });
    named = opening;
    opening.catch(() => {
      if (named === opening) named = null;
    });
    return opening;
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      instance ??= openPglite(dataDir);
      const db = await instance;
      let release!: () => void;
      const previous = queue;
      queue = new Promise<void>((resolve) => {
        release = resolve;
      });
      await previous;
      let released = false;
      const client = {
        query(text: string, parameters: ReadonlyArray<unknown>) {
          const name = preparedName(text);
          if (name === null) return db.query(text, parameters as unknown[]) as never;
          return namedClient(db).then((c) =>
            c.query({ name, text, values: parameters as unknown[] }).catch(async (err: unknown) => {
              // node-postgres rejects at the error, before the database has read the Sync that ends the
              // statement; a ROLLBACK sent through PGlite's own query in between would be skipped with the
              // rest, leaving the transaction aborted. node-postgres starts its next query only after that
              // Sync is answered, so an empty one waits for it.
              await c.query('').catch(() => undefined);
              throw err;
            }),
          ) as never;
        },
        release() {
          if (released) return;
          released = true;
          release();
        },
      };
      return client as unknown as PostgresPoolClient;
    },
    async end() {
      const client = named && (await named.catch(() => null));
      named = null;
      await client?.end().catch(() => undefined);
      if (instance) await (await instance).close();
    },
  };
}
