/**
 * The `auth.mode: keys` authenticator: keys from the config file and keys from the database, both looked up
 * by SHA-256 hash in memory — no database query per request.
 *
 * - Database keys are loaded when the store starts and reloaded every `refresh_interval_ms` (revocation and
 *   expiry changes reach every instance within that interval; on the instance that made the change, at once).
 * - A hash this instance does not know triggers one bounded lookup (concurrent requests with the same key
 *   share it), so a key created on another instance works at once; a miss is remembered (by hash only,
 *   bounded, for `negative_cache_ms`) so repeating a bad key costs no queries. Known keys are looked up
 *   before the negative cache, so a key that appears later works from the next refresh on (or at once
 *   on the instance that created it).
 * - Failed attempts are throttled per client address (`failure-throttle.ts`): once a source spent its
 *   failed attempts, keys this instance does not know are refused with 429 before any lookup, so a flood
 *   of distinct bad keys costs no queries either.
 * - Database down: the last loaded keys keep working; a key never seen before gets 503 (it cannot be
 *   verified — the gateway fails closed, it never lets an unverified key in); config keys always work.
 * - `last_used_at` is written in batches on each refresh, never on the request path.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { type Clock, systemClock } from '../core/clock.js';
import { AuthenticationError, ServiceUnavailableError } from '../core/errors.js';
import type { AdminActor } from '../core/feature.js';
import type { Database } from '../stores/database.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { EndUserLimits } from '../tenancy/limits.js';
import { EMPTY_TREE, keyPrincipal, type Tree } from '../tenancy/principal.js';
import { type LevelKind, LevelRepository, type OrgRow, type TeamRow } from '../tenancy/repository.js';
import { actorOf } from './admin-actor.js';
import { DEFAULT_FAILURE_THROTTLE, FailureThrottle } from './failure-throttle.js';
import { type ApiKeyRow, KeyRepository, toDate } from './keys.js';
import { type Authenticator, type AuthInput, bearer, hashKey, type Principal } from './principal.js';

interface Entry {
  hash: Buffer;
  principal: Principal;
  expiresAt: number | null;
  revoked: boolean;
  /** Database keys (their use is written back as last_used_at); their row, to rebuild the principal. */
  fromDb: boolean;
  row?: ApiKeyRow;
  /** Its team or organization is not loaded on this instance yet (made elsewhere a moment ago). */
  incomplete?: boolean;
}

const MAX_NEGATIVE = 10_000;

export interface KeyStoreDeps {
  /** The `auth` section (config keys, refresh interval, lookup timeout, negative cache). */
  auth: Readonly<Config['auth']>;
  logger: Logger;
  metrics: Metrics;
  /** Opens (lazily) the database. */
  database(): Database;
  /**
   * Wall time for key expiry and what the repository writes (`last_used_at`, …), monotonic time for the
   * negative cache; the real clock when absent.
   */
  clock?: Pick<Clock, 'now' | 'wallNow'> | undefined;
  /** Limits of each end user a key names when neither it, its team nor its org sets them. */
  endUserDefaults?: EndUserLimits | null;
}

/** The key store: an `Authenticator` plus what the admin routes need to update it at once. */
export class KeyStore implements Authenticator {
  readonly mode = 'keys' as const;
  readonly #deps: KeyStoreDeps;
  readonly #clock: Pick<Clock, 'now' | 'wallNow'>;
  readonly #static = new Map<string, Entry>();
  #db = new Map<string, Entry>();
  readonly #negative = new Map<string, number>();
  readonly #pending = new Map<string, Promise<Entry | undefined>>();
  readonly #used = new Set<string>();
  readonly #throttle: FailureThrottle;
  #repo: KeyRepository | null = null;
  #levels: LevelRepository | null = null;
  #tree: Tree = EMPTY_TREE;
  #treeLoad: Promise<void> | null = null;
  /** Rows changed on this instance while a reload was in flight (the reload may have read them stale). */
  #appliedDuringRefresh: ApiKeyRow[] = [];
  #refreshing = 0;
  #loaded: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(deps: KeyStoreDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#throttle = new FailureThrottle(deps.auth.failure_throttle ?? DEFAULT_FAILURE_THROTTLE, this.#clock);
    for (const k of deps.auth.keys) {
      this.#static.set(k.key_sha256, {
        hash: Buffer.from(k.key_sha256, 'hex'),
        principal: {
          userId: k.user_id,
          keyId: k.name,
          tier: k.tier,
          allowedModels: k.allowed_models.length > 0 ? new Set(k.allowed_models) : null,
          guardrails: k.guardrails,
        },
        expiresAt: k.expires_at ? Date.parse(k.expires_at) : null,
        revoked: k.revoked,
        fromDb: false,
      });
    }
  }

  /** The repository over the gateway's database (opens it on first use). */
  repository(): KeyRepository {
    this.#repo ??= new KeyRepository(this.#deps.database().db, this.#clock);
    return this.#repo;
  }

  /** The organizations and teams repository (same database). */
  levels(): LevelRepository {
    this.#levels ??= new LevelRepository(this.#deps.database().db, this.#clock);
    return this.#levels;
  }

  /**
   * Loads the database keys and starts the refresh loop (idempotent). Resolves once the first load
   * succeeded; keeps retrying in the background while the database is down.
   */
  start(): Promise<void> {
    if (this.#loaded) return this.#loaded;
    const database = this.#deps.database();
    this.#loaded = database.ready.then(() => this.refresh());
    this.#loaded.catch(() => undefined);
    const tick = () => {
      if (this.#closed) return;
      this.#timer = setTimeout(async () => {
        if (database.isReady()) await this.refresh().catch(() => undefined);
        tick();
      }, this.#deps.auth.refresh_interval_ms);
      this.#timer.unref();
    };
    tick();
    return this.#loaded;
  }

  /** Reloads every database key and writes back which keys were used. */
  async refresh(): Promise<void> {
    const repo = this.repository();
    this.#refreshing++;
    try {
      const used = [...this.#used];
      this.#used.clear();
      await repo.touch(used).catch((err: unknown) => {
        for (const id of used) this.#used.add(id);
        throw err;
      });
      const [rows] = await Promise.all([repo.all(), this.#loadTree()]);
      const next = new Map<string, Entry>();
      for (const row of rows) next.set(row.key_hash, this.#entry(row));
      for (const row of this.#appliedDuringRefresh) next.set(row.key_hash, this.#entry(row));
      // Negative entries stay until they expire: a key loaded here is found in #db before they are read.
      this.#db = next;
    } catch (err) {
      this.#deps.metrics.dependencyErrors.inc({ dependency: 'database' });
      this.#deps.logger.warn(
        {
          event: 'dependency.error',
          dependency: 'database',
          operation: 'keys.refresh',
          error: (err as Error).message,
        },
        'could not reload API keys; serving the last loaded keys',
      );
      throw err;
    } finally {
      if (--this.#refreshing === 0) this.#appliedDuringRefresh = [];
    }
  }

  /** Applies a row changed on this instance at once (create, revoke, rotate). */
  apply(row: ApiKeyRow): void {
    this.#db.set(row.key_hash, this.#entry(row));
    this.#negative.delete(row.key_hash);
    if (this.#refreshing > 0) this.#appliedDuringRefresh.push(row);
  }

  async #loadTree(): Promise<void> {
    const tree = await this.levels().all();
    this.#tree = {
      orgs: new Map(tree.orgs.map((o) => [o.id, o])),
      teams: new Map(tree.teams.map((t) => [t.id, t])),
    };
  }

  /**
   * Applies an organization or team changed on this instance at once (null = deleted): every key's
   * principal is rebuilt with the new limits. Other instances see it at their next refresh.
   */
  applyLevel(kind: LevelKind, id: string, row: OrgRow | TeamRow | null): void {
    const orgs = new Map(this.#tree.orgs);
    const teams = new Map(this.#tree.teams);
    const map = (kind === 'org' ? orgs : teams) as Map<string, OrgRow | TeamRow>;
    if (row) map.set(id, row);
    else map.delete(id);
    this.#tree = { orgs, teams };
    for (const [hash, entry] of this.#db) if (entry.row) this.#db.set(hash, this.#entry(entry.row));
  }

  #entry(row: ApiKeyRow, treeJustLoaded = false): Entry {
    const revoked = row.revoked_at !== null;
    const missing =
      (row.team_id != null && !this.#tree.teams.has(row.team_id)) ||
      (row.org_id != null && !this.#tree.orgs.has(row.org_id));
    return {
      hash: Buffer.from(row.key_hash, 'hex'),
      principal: keyPrincipal(row, this.#tree, this.#deps.endUserDefaults ?? null),
      expiresAt: toDate(row.expires_at)?.getTime() ?? null,
      revoked,
      fromDb: true,
      row,
      incomplete: missing && !revoked && !treeJustLoaded,
    };
  }

  /**
   * An entry whose team or organization this instance has not loaded yet (a key made on another instance,
   * or in a team made there, a moment ago): the tree is loaded first (one load shared by concurrent
   * requests), so the key's first request here already meets every level's limits.
   */
  async #completed(entry: Entry): Promise<Entry> {
    this.#treeLoad ??= this.#loadTree().finally(() => {
      this.#treeLoad = null;
    });
    const loaded = await this.#treeLoad.then(
      () => true,
      () => false,
    );
    const row = entry.row as ApiKeyRow;
    const next = this.#entry(row, loaded);
    this.#db.set(row.key_hash, next);
    return next;
  }

  /**
   * The admin actor of an org or team admin key (DESIGN §7), null when the token is a valid key without an
   * admin role. @throws AuthenticationError (401) for an unknown, revoked or expired key.
   */
  async adminActorOf(authorization: string | undefined, source: string): Promise<AdminActor | null> {
    return actorOf(await this.authenticate({ authorization, userIdHeader: undefined, source }));
  }

  /**
   * The admin actor of a key this instance holds, by its SHA-256 hex digest (a console session's check that
   * its key still works); null when unknown, revoked, expired or without an admin role.
   */
  adminActorByDigest(digest: string): AdminActor | null {
    const entry = this.#db.get(digest);
    if (!entry || entry.revoked) return null;
    if (entry.expiresAt !== null && entry.expiresAt <= this.#clock.wallNow()) return null;
    return actorOf(entry.principal);
  }

  /** The tier of a user's newest active key, if this instance knows one (admin rate-limit view). */
  tierOf(userId: string): string | undefined {
    for (const entry of [...this.#db.values(), ...this.#static.values()]) {
      if (entry.principal.userId === userId && !entry.revoked) return entry.principal.tier;
    }
    return undefined;
  }

  /** The principal of an active database key this instance holds, by key id (admin rate-limit view). */
  principalOfKey(keyId: string): Principal | undefined {
    for (const entry of this.#db.values()) {
      if (entry.principal.keyId === keyId && !entry.revoked) return entry.principal;
    }
    return undefined;
  }

  /** Sizes of the bounded in-memory state (for tests and diagnostics). */
  stats(): { negative: number; throttledSources: number } {
    return { negative: this.#negative.size, throttledSources: this.#throttle.size };
  }

  authenticate(input: AuthInput): Principal | Promise<Principal> {
    const source = input.source ?? '';
    const token = bearer(input.authorization);
    if (!token) return this.#fail(source, new AuthenticationError());
    const digest = hashKey(token);
    const known = this.#static.get(digest) ?? this.#db.get(digest);
    if (known?.incomplete) return this.#completed(known).then((e) => this.#checkFrom(source, e, digest));
    if (known) return this.#checkFrom(source, known, digest);
    // An unknown key from a source that spent its failed attempts: 429, no lookup.
    this.#throttle.assertAllowed(source);
    return this.#lookup(digest).then((entry) => {
      if (!entry) return this.#fail(source, new AuthenticationError('Invalid API key.'));
      return this.#checkFrom(source, entry, digest);
    });
  }

  #checkFrom(source: string, entry: Entry, digest: string): Principal {
    try {
      return this.#check(entry, digest);
    } catch (err) {
      return this.#fail(source, err as Error);
    }
  }

  #fail(source: string, err: Error): never {
    this.#throttle.failed(source);
    throw err;
  }

  #check(entry: Entry, digest: string): Principal {
    if (!timingSafeEqual(entry.hash, Buffer.from(digest, 'hex')))
      throw new AuthenticationError('Invalid API key.');
    if (entry.revoked) throw new AuthenticationError('This API key has been revoked.');
    if (entry.expiresAt !== null && entry.expiresAt <= this.#clock.wallNow()) {
      throw new AuthenticationError('This API key has expired.');
    }
    if (entry.fromDb && this.#used.size < MAX_NEGATIVE) this.#used.add(entry.principal.keyId as string);
    return entry.principal;
  }

  /** One bounded database lookup per unknown hash (shared by concurrent requests, negative-cached). */
  #lookup(digest: string): Promise<Entry | undefined> {
    const missUntil = this.#negative.get(digest);
    if (missUntil !== undefined) {
      if (missUntil > this.#clock.now()) return Promise.resolve(undefined);
      this.#negative.delete(digest);
    }
    const pending = this.#pending.get(digest);
    if (pending) return pending;
    const timeoutMs = this.#deps.auth.lookup_timeout_ms;
    const lookup = (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const row = await Promise.race([
          (async () => {
            // A failed first load is retried by the refresh loop; the direct lookup below decides.
            await this.start().catch(() => undefined);
            return this.#db.get(digest) ?? (await this.repository().byHash(digest));
          })(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        if (!row) {
          this.#remember(digest);
          return undefined;
        }
        if ('principal' in row) return row;
        const entry = this.#entry(row);
        this.#db.set(digest, entry);
        return entry.incomplete ? await this.#completed(entry) : entry;
      } catch (err) {
        this.#deps.metrics.dependencyErrors.inc({ dependency: 'database' });
        this.#deps.logger.warn(
          {
            event: 'dependency.error',
            dependency: 'database',
            operation: 'keys.lookup',
            error: (err as Error).message,
          },
          'could not look up an API key',
        );
        throw new ServiceUnavailableError(
          'The API key cannot be verified right now (key database unavailable); retry shortly.',
        );
      } finally {
        clearTimeout(timer);
        this.#pending.delete(digest);
      }
    })();
    this.#pending.set(digest, lookup);
    return lookup;
  }

  #remember(digest: string): void {
    if (this.#negative.size >= MAX_NEGATIVE) {
      const oldest = this.#negative.keys().next().value;
      if (oldest !== undefined) this.#negative.delete(oldest);
    }
    this.#negative.set(digest, this.#clock.now() + this.#deps.auth.negative_cache_ms);
  }

  /** Stops the refresh loop and writes back the last `last_used_at` marks (bounded). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#repo && this.#used.size > 0) {
      await Promise.race([
        this.#repo.touch([...this.#used]).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1_000).unref()),
      ]);
    }
  }
}
