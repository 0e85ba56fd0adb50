/**
 * What the tenancy admin routes share: the repositories behind a bounded wait for the database (a
 * database failure is a 503, a missing row a 404, a level still in use a 409), and the key store to apply
 * a change on this instance at once (other instances pick it up within `auth.refresh_interval_ms`).
 */
import type { KeyStore } from '../auth/key-store.js';
import { KeyNotFoundError, type KeyRepository, KeyRevokedError } from '../auth/keys.js';
import {
  BadRequestError,
  ConflictError,
  GatewayError,
  NotFoundError,
  ServiceUnavailableError,
} from '../core/errors.js';
import type { Db } from '../stores/database.js';
import type { FeatureDeps } from '../stores/deps.js';
import { LevelInUseError, LevelNotFoundError, type LevelRepository } from './repository.js';

export interface TenancyAdmin {
  readonly keys: KeyStore;
  /** Runs `call` once the database is ready (bounded); maps failures to admin errors. */
  withRepos<R>(call: (r: { keys: KeyRepository; levels: LevelRepository; db: Db }) => Promise<R>): Promise<R>;
  /** Applies a key row changed here to this instance's key store. */
  applyKey(id: string): Promise<void>;
}

export function createTenancyAdmin(keys: KeyStore, deps: FeatureDeps, lookupTimeoutMs: number): TenancyAdmin {
  const { logger, metrics } = deps;
  async function withRepos<R>(
    call: (r: { keys: KeyRepository; levels: LevelRepository; db: Db }) => Promise<R>,
  ): Promise<R> {
    const database = deps.database();
    try {
      await Promise.race([
        database.ready,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('database not ready')), lookupTimeoutMs).unref(),
        ),
      ]);
      return await call({ keys: keys.repository(), levels: keys.levels(), db: database.db });
    } catch (err) {
      if (err instanceof KeyNotFoundError || err instanceof LevelNotFoundError)
        throw new NotFoundError(err.message);
      if (err instanceof KeyRevokedError) throw new BadRequestError(err.message);
      if (err instanceof LevelInUseError) throw new ConflictError(err.message);
      if (err instanceof GatewayError) throw err;
      metrics.dependencyErrors.inc({ dependency: 'database' });
      logger.warn(
        {
          event: 'dependency.error',
          dependency: 'database',
          operation: 'tenancy.admin',
          error: (err as Error).message,
        },
        'tenancy administration failed',
      );
      throw new ServiceUnavailableError('The key database is not available; retry shortly.');
    }
  }
  return {
    keys,
    withRepos,
    async applyKey(id) {
      const row = await keys.repository().row(id);
      if (row) keys.apply(row);
    },
  };
}
