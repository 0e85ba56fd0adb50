/**
 * Gateway API keys in the database: creation (the secret is returned once and stored only as a SHA-256
 * hash), listing, revocation and rotation, each written to the audit log in the same transaction. Used by
 * the admin API (`auth/admin-routes.ts`) and the CLI (`cli/keys.ts`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { Db } from '../stores/database.js';
import type { ApiKeyTable } from '../stores/schema.js';
import { hashKey } from './principal.js';

export const KEY_PREFIX = 'sk-gw-';
/** Characters of the key shown in listings (`sk-gw-` and six more). */
const VISIBLE = KEY_PREFIX.length + 6;

export type ApiKeyRow = Selectable<ApiKeyTable>;

/** What an admin gives to create a key. */
export interface NewKey {
  name: string;
  userId: string;
  tier?: string;
  allowedModels?: string[];
  dailyBudgetUsd?: number | null;
  monthlyBudgetUsd?: number | null;
  expiresAt?: Date | null;
  /** Guardrail policy names (migration 0005). */
  guardrails?: string[];
}

/** A key as the admin API and CLI show it (snake_case, never the hash or the secret). */
export interface KeyView {
  id: string;
  name: string;
  key_prefix: string;
  user_id: string;
  tier: string;
  allowed_models: string[];
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  expires_at: string | null;
  guardrails: string[];
  revoked_at: string | null;
  rotated_from: string | null;
  last_used_at: string | null;
  created_at: string;
}

/** Who did it, for the audit log: `admin` (the admin API) or `cli:<user>`. */
export interface Actor {
  actor: string;
  requestId?: string | null;
}

/** A new random key: `sk-gw-` + 43 base64url characters (256 bits). */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

function toDate(value: Date | string | null): Date | null {
  return value === null ? null : value instanceof Date ? value : new Date(value);
}

function toNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** Parses the stored allowed-models JSON; anything malformed means "no model" rather than "every model". */
export function parseModels(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : ['\u0000'];
  } catch {
    return ['\u0000'];
  }
}

/** Parses the stored guardrail policy names (JSON array); a row from before migration 0005 has none. */
export function parseNames(text: string | null | undefined): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : [];
  } catch {
    return [];
  }
}

export function toView(row: ApiKeyRow): KeyView {
  const iso = (v: Date | string | null) => toDate(v)?.toISOString() ?? null;
  return {
    id: row.id,
    name: row.name,
    key_prefix: row.key_prefix,
    user_id: row.user_id,
    tier: row.tier,
    allowed_models: parseModels(row.allowed_models),
    daily_budget_usd: toNumber(row.daily_budget_usd),
    monthly_budget_usd: toNumber(row.monthly_budget_usd),
    expires_at: iso(row.expires_at),
    guardrails: parseNames(row.guardrails),
    revoked_at: iso(row.revoked_at),
    rotated_from: row.rotated_from,
    last_used_at: iso(row.last_used_at),
    created_at: iso(row.created_at) ?? '',
  };
}

export { toDate, toNumber };

/** Thrown when the key id does not exist (the admin API answers 404). */
export class KeyNotFoundError extends Error {
  constructor(id: string) {
    super(`No API key with id "${id}".`);
    this.name = 'KeyNotFoundError';
  }
}

/**
 * Key administration over one database. `clock` gives the wall time written as `revoked_at`,
 * `last_used_at` and a rotated key's end of grace.
 */
export class KeyRepository {
  readonly #db: Db;
  readonly #clock: Pick<Clock, 'wallNow'>;

  constructor(db: Db, clock: Pick<Clock, 'wallNow'>) {
    this.#db = db;
    this.#clock = clock;
  }

  #now(): Date {
    return new Date(this.#clock.wallNow());
  }

  /** Creates a key; the returned `key` is the only time the secret exists outside the caller. */
  async create(input: NewKey, actor: Actor): Promise<{ key: string; view: KeyView }> {
    return this.#db.transaction().execute(async (trx) => {
      const created = await insertKey(trx, input, null);
      await audit(trx, actor, 'key.create', created.view.id, {
        name: input.name,
        user_id: input.userId,
        tier: created.view.tier,
        allowed_models: input.allowedModels ?? [],
        guardrails: input.guardrails ?? [],
        key_prefix: created.view.key_prefix,
      });
      return created;
    });
  }

  async list(filter: { userId?: string; includeRevoked?: boolean } = {}): Promise<KeyView[]> {
    let query = this.#db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id');
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (!filter.includeRevoked) query = query.where('revoked_at', 'is', null);
    return (await query.execute()).map(toView);
  }

  async get(id: string): Promise<KeyView> {
    const row = await this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new KeyNotFoundError(id);
    return toView(row);
  }

  /** Revokes a key at once (idempotent: a revoked key keeps its first revocation time). */
  async revoke(id: string, actor: Actor): Promise<KeyView> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('api_keys')
        .set({ revoked_at: this.#now() })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      const current =
        row ?? (await trx.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst());
      if (!current) throw new KeyNotFoundError(id);
      if (row) await audit(trx, actor, 'key.revoke', id, { key_prefix: row.key_prefix });
      return toView(current);
    });
  }

  /**
   * Issues a new key with the same user, tier, models, budgets and expiry; the old key stays valid for
   * `graceSeconds` (0 = ends now) and then expires.
   */
  async rotate(
    id: string,
    graceSeconds: number,
    actor: Actor,
  ): Promise<{ key: string; view: KeyView; old: KeyView }> {
    // One transaction: the new key, the old key's new expiry and the audit row exist together or not at all.
    return this.#db.transaction().execute(async (trx) => {
      const old = await trx
        .selectFrom('api_keys')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!old) throw new KeyNotFoundError(id);
      if (old.revoked_at !== null) throw new KeyRevokedError(id);
      const created = await insertKey(
        trx,
        {
          name: old.name,
          userId: old.user_id,
          tier: old.tier,
          allowedModels: parseModels(old.allowed_models),
          dailyBudgetUsd: toNumber(old.daily_budget_usd),
          monthlyBudgetUsd: toNumber(old.monthly_budget_usd),
          expiresAt: toDate(old.expires_at),
          guardrails: parseNames(old.guardrails),
        },
        id,
      );
      const graceEnd = new Date(this.#clock.wallNow() + graceSeconds * 1000);
      const oldExpiry = toDate(old.expires_at);
      const updated = await trx
        .updateTable('api_keys')
        .set({ expires_at: oldExpiry && oldExpiry < graceEnd ? oldExpiry : graceEnd })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await audit(trx, actor, 'key.rotate', id, {
        new_key_id: created.view.id,
        new_key_prefix: created.view.key_prefix,
        grace_period_seconds: graceSeconds,
      });
      return { ...created, old: toView(updated) };
    });
  }

  /** Every key row (the key store's refresh). */
  async all(): Promise<ApiKeyRow[]> {
    return this.#db.selectFrom('api_keys').selectAll().execute();
  }

  async row(id: string): Promise<ApiKeyRow | undefined> {
    return this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byHash(hash: string): Promise<ApiKeyRow | undefined> {
    return this.#db.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
  }

  /** Marks keys as used now (batched by the key store, never per request). */
  async touch(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.#db
      .updateTable('api_keys')
      .set({ last_used_at: this.#now() })
      .where('id', 'in', ids)
      .execute();
  }

  /** Latest audit entries, newest first. */
  async auditLog(
    limit = 100,
  ): Promise<Array<{ at: string; actor: string; action: string; target: string | null; details: unknown }>> {
    const rows = await this.#db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      at: toDate(r.at)?.toISOString() ?? '',
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: r.details ? (JSON.parse(r.details) as unknown) : null,
    }));
  }
}

/** Thrown when rotating a revoked key (409). */
export class KeyRevokedError extends Error {
  constructor(id: string) {
    super(`The API key "${id}" is revoked; create a new key instead of rotating it.`);
    this.name = 'KeyRevokedError';
  }
}

/** Inserts a new key (inside the caller's transaction); the secret is returned, only its hash stored. */
async function insertKey(
  trx: Pick<Db, 'insertInto'>,
  input: NewKey,
  rotatedFrom: string | null,
): Promise<{ key: string; view: KeyView }> {
  const key = generateKey();
  const row = await trx
    .insertInto('api_keys')
    .values({
      id: `key_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
      name: input.name,
      key_hash: hashKey(key),
      key_prefix: key.slice(0, VISIBLE),
      user_id: input.userId,
      tier: input.tier ?? 'free',
      allowed_models: JSON.stringify(input.allowedModels ?? []),
      daily_budget_usd: input.dailyBudgetUsd ?? null,
      monthly_budget_usd: input.monthlyBudgetUsd ?? null,
      expires_at: input.expiresAt ?? null,
      guardrails: JSON.stringify(input.guardrails ?? []),
      revoked_at: null,
      rotated_from: rotatedFrom,
      last_used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, view: toView(row) };
}

async function audit(
  trx: Pick<Db, 'insertInto'>,
  actor: Actor,
  action: string,
  target: string,
  details: Record<string, unknown>,
): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      actor: actor.actor,
      action,
      target,
      details: JSON.stringify(details),
      request_id: actor.requestId ?? null,
    })
    .execute();
}
