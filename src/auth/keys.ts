/**
 * Gateway API keys in the database: creation (the secret is returned once and stored only as a SHA-256
 * hash), listing, revocation and rotation, each written to the audit log in the same transaction. Used by
 * the admin API (`auth/admin-routes.ts`) and the CLI (`cli/keys.ts`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../core/clock.js';
import type { Db } from '../stores/database.js';
import { type Actor, writeAudit } from '../tenancy/audit.js';
import { type EndUserLimits, limitsJson, parseEndUserLimits, parseMetadata } from '../tenancy/limits.js';
import { type Page, type PageRequest, timeCursorOf, toPage, toTimePage } from '../tenancy/pagination.js';
import {
  type ApiKeyRow,
  type KeyRole,
  type KeyView,
  parseModels,
  parseNames,
  placeOf,
  roleOf,
  toDate,
  toNumber,
  toView,
} from './key-view.js';
import { hashKey } from './principal.js';

export * from './key-view.js';

export type { Actor };

export const KEY_PREFIX = 'sk-gw-';
/** Characters of the key shown in listings (`sk-gw-` and six more). */
const VISIBLE = KEY_PREFIX.length + 6;

/** What an admin gives to create a key. */
export interface NewKey {
  name: string;
  /** The key's fixed end user; null for a team or org key (then `teamId` or `orgId` is set). */
  userId: string | null;
  tier?: string;
  allowedModels?: string[];
  dailyBudgetUsd?: number | null;
  monthlyBudgetUsd?: number | null;
  expiresAt?: Date | null;
  /** Guardrail policy names (migration 0005). */
  guardrails?: string[];
  /** Tenancy (migration 0006). */
  teamId?: string | null;
  orgId?: string | null;
  role?: KeyRole;
  totalBudgetUsd?: number | null;
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  allowEndUsers?: boolean;
  endUserLimits?: EndUserLimits | null;
  metadata?: Record<string, string>;
}

/** A new random key: `sk-gw-` + 43 base64url characters (256 bits). */
export function generateKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

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
      await writeAudit(
        trx,
        actor,
        'key.create',
        created.view.id,
        {
          name: input.name,
          user_id: input.userId,
          team_id: created.view.team_id,
          org_id: created.view.org_id,
          role: created.view.role,
          tier: created.view.tier,
          allowed_models: input.allowedModels ?? [],
          guardrails: input.guardrails ?? [],
          key_prefix: created.view.key_prefix,
        },
        { orgId: created.view.org_id, teamId: created.view.team_id },
      );
      return created;
    });
  }

  /** Keys matching every filter given, newest first, one page (`page` absent = every key). */
  async list(filter: KeyFilter = {}, page?: PageRequest): Promise<Page<KeyView>> {
    let query = this.#db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc');
    if (filter.userId) query = query.where('user_id', '=', filter.userId);
    if (filter.teamId !== undefined) query = query.where('team_id', '=', filter.teamId);
    // An org/team admin's filter is never dropped (an empty id matches nothing rather than everything).
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.role) query = query.where('role', '=', filter.role);
    if (!filter.includeRevoked) query = query.where('revoked_at', 'is', null);
    if (page?.after) {
      query = query.where(
        sql<boolean>`(created_at, id) < (select k.created_at, k.id from api_keys k where k.id = ${page.after})`,
      );
    }
    if (page) query = query.limit(page.limit + 1);
    const rows = await query.execute();
    return toPage(rows, page ?? { limit: rows.length, after: null }, (r) => r.id, toView);
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
      if (row) {
        await writeAudit(trx, actor, 'key.revoke', id, { key_prefix: row.key_prefix }, placeOf(row));
      }
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
          teamId: old.team_id,
          orgId: old.org_id,
          role: roleOf(old),
          totalBudgetUsd: toNumber(old.total_budget_usd),
          rpmLimit: old.rpm_limit,
          tpmLimit: old.tpm_limit,
          allowEndUsers: old.allow_end_users,
          endUserLimits: parseEndUserLimits(old.end_user_limits),
          metadata: parseMetadata(old.metadata),
        },
        // The new key goes on with the old one's spend, limits and stored state (decision 0209).
        { from: id, lineage: old.lineage_id ?? id },
      );
      const graceEnd = new Date(this.#clock.wallNow() + graceSeconds * 1000);
      const oldExpiry = toDate(old.expires_at);
      const updated = await trx
        .updateTable('api_keys')
        .set({ expires_at: oldExpiry && oldExpiry < graceEnd ? oldExpiry : graceEnd })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(
        trx,
        actor,
        'key.rotate',
        id,
        {
          new_key_id: created.view.id,
          new_key_prefix: created.view.key_prefix,
          grace_period_seconds: graceSeconds,
        },
        placeOf(old),
      );
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

  /** Audit entries, newest first, one page; `place` limits them to an organization or team. */
  async auditLog(
    page: PageRequest,
    filter: { orgId?: string; teamId?: string; action?: string; actor?: string } = {},
  ): Promise<Page<AuditView>> {
    const cursor = timeCursorOf(page);
    let query = this.#db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit + 1 + (cursor?.skip ?? 0));
    // An org/team admin's filter is never dropped (an empty id matches nothing rather than everything).
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.teamId !== undefined) query = query.where('team_id', '=', filter.teamId);
    if (filter.action) query = query.where('action', '=', filter.action);
    if (filter.actor) query = query.where('actor', 'like', `${filter.actor.replace(/[%_\\]/g, '')}%`);
    if (cursor) query = query.where('at', '<', new Date(cursor.ms + 1));
    const rows = await query.execute();
    return toTimePage(
      rows,
      page,
      cursor,
      (r) => toDate(r.at)?.getTime() ?? 0,
      (r) => ({
        at: toDate(r.at)?.toISOString() ?? '',
        actor: r.actor,
        action: r.action,
        target: r.target,
        org_id: r.org_id ?? null,
        team_id: r.team_id ?? null,
        details: r.details ? (JSON.parse(r.details) as unknown) : null,
      }),
    );
  }
}

export interface AuditView {
  at: string;
  actor: string;
  action: string;
  target: string | null;
  org_id: string | null;
  team_id: string | null;
  details: unknown;
}

export interface KeyFilter {
  userId?: string | undefined;
  teamId?: string | undefined;
  orgId?: string | undefined;
  role?: KeyRole | undefined;
  includeRevoked?: boolean;
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
  rotated: { from: string; lineage: string } | null,
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
      team_id: input.teamId ?? null,
      org_id: input.orgId ?? null,
      role: input.role ?? 'user',
      total_budget_usd: input.totalBudgetUsd ?? null,
      rpm_limit: input.rpmLimit ?? null,
      tpm_limit: input.tpmLimit ?? null,
      allow_end_users: input.allowEndUsers ?? false,
      end_user_limits: input.endUserLimits ? JSON.stringify(limitsJson(input.endUserLimits)) : null,
      metadata: JSON.stringify(input.metadata ?? {}),
      revoked_at: null,
      rotated_from: rotated?.from ?? null,
      lineage_id: rotated?.lineage ?? null,
      last_used_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { key, view: toView(row) };
}
