/**
 * Organizations and teams in the database (migration 0006): create, read, list (filters, cursor pages),
 * change and delete, each change written to the audit log in the same transaction. Used by the admin API
 * (`tenancy/routes.ts`), the CLI (`cli/tenancy.ts`) and the key store (which loads every level with the keys).
 */
import { randomUUID } from 'node:crypto';
import { type Selectable, sql } from 'kysely';
import { parseModels, parseNames, toDate, toNumber } from '../auth/key-view.js';
import type { Clock } from '../core/clock.js';
import type { Db } from '../stores/database.js';
import type { LevelTable, TeamTable } from '../stores/schema.js';
import { type Actor, writeAudit } from './audit.js';
import { type LimitsJson, limitsJson, parseEndUserLimits, parseMetadata } from './limits.js';
import { type Page, type PageRequest, toPage } from './pagination.js';

export type LevelKind = 'org' | 'team';
export type OrgRow = Selectable<LevelTable>;
export type TeamRow = Selectable<TeamTable>;

/** What an admin sets on an organization or team (admin API body, snake_case); absent = unchanged. */
export interface LevelInput extends LimitsJson {
  name?: string;
  org_id?: string | null;
  allowed_models?: string[];
  end_user_limits?: LimitsJson | null;
  guardrails?: string[];
  metadata?: Record<string, string>;
}

/** An organization or team as the admin API shows it. */
export interface LevelView extends Required<LimitsJson> {
  id: string;
  object: 'organization' | 'team';
  name: string;
  org_id?: string | null;
  allowed_models: string[];
  end_user_limits: Required<LimitsJson> | null;
  guardrails: string[];
  metadata: Record<string, string>;
  created_at: string;
  updated_at: string;
}

export class LevelNotFoundError extends Error {
  constructor(kind: LevelKind, id: string) {
    super(`No ${kind === 'org' ? 'organization' : 'team'} with id "${id}".`);
    this.name = 'LevelNotFoundError';
  }
}

/** Deleting a level that still has teams or active keys (409). */
export class LevelInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LevelInUseError';
  }
}

const TABLE = { org: 'organizations', team: 'teams' } as const;

export function levelView(kind: LevelKind, row: OrgRow | TeamRow): LevelView {
  const endUsers = parseEndUserLimits(row.end_user_limits);
  return {
    id: row.id,
    object: kind === 'org' ? 'organization' : 'team',
    name: row.name,
    ...(kind === 'team' ? { org_id: (row as TeamRow).org_id } : {}),
    daily_budget_usd: toNumber(row.daily_budget_usd),
    monthly_budget_usd: toNumber(row.monthly_budget_usd),
    total_budget_usd: toNumber(row.total_budget_usd),
    rpm_limit: row.rpm_limit,
    tpm_limit: row.tpm_limit,
    allowed_models: parseModels(row.allowed_models),
    end_user_limits: endUsers ? limitsJson(endUsers) : null,
    guardrails: parseNames(row.guardrails),
    metadata: parseMetadata(row.metadata),
    created_at: toDate(row.created_at)?.toISOString() ?? '',
    updated_at: toDate(row.updated_at)?.toISOString() ?? '',
  };
}

/** The columns an input sets (only those present). */
function columns(input: LevelInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.name !== undefined) out.name = input.name;
  for (const k of [
    'daily_budget_usd',
    'monthly_budget_usd',
    'total_budget_usd',
    'rpm_limit',
    'tpm_limit',
  ] as const) {
    if (input[k] !== undefined) out[k] = input[k];
  }
  if (input.allowed_models !== undefined) out.allowed_models = JSON.stringify(input.allowed_models);
  if (input.end_user_limits !== undefined) {
    out.end_user_limits = input.end_user_limits === null ? null : JSON.stringify(input.end_user_limits);
  }
  if (input.guardrails !== undefined) out.guardrails = JSON.stringify(input.guardrails);
  if (input.metadata !== undefined) out.metadata = JSON.stringify(input.metadata);
  return out;
}

export interface LevelFilter {
  orgId?: string | undefined;
  /** Only this id (a team admin's own team). */
  id?: string | undefined;
  name?: string | undefined;
}

/** Organizations and teams over one database; `clock` gives `updated_at`. */
export class LevelRepository {
  readonly #db: Db;
  readonly #clock: Pick<Clock, 'wallNow'>;

  constructor(db: Db, clock: Pick<Clock, 'wallNow'>) {
    this.#db = db;
    this.#clock = clock;
  }

  async create(kind: LevelKind, input: LevelInput & { name: string }, actor: Actor): Promise<LevelView> {
    return this.#db.transaction().execute(async (trx) => {
      const id = `${kind}_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
      const orgId = kind === 'team' ? (input.org_id ?? null) : id;
      if (kind === 'team' && orgId !== null) await this.#mustExist(trx, 'org', orgId);
      const values = { id, ...columns(input), ...(kind === 'team' ? { org_id: orgId } : {}) };
      const row = await trx
        .insertInto(TABLE[kind])
        .values(values as never)
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(trx, actor, `${kind}.create`, id, { ...input }, placeIn(kind, row));
      return levelView(kind, row);
    });
  }

  async get(kind: LevelKind, id: string): Promise<LevelView> {
    return levelView(kind, await this.row(kind, id));
  }

  async row(kind: LevelKind, id: string): Promise<OrgRow | TeamRow> {
    const row = await this.#db.selectFrom(TABLE[kind]).selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new LevelNotFoundError(kind, id);
    return row;
  }

  async list(kind: LevelKind, filter: LevelFilter, page: PageRequest): Promise<Page<LevelView>> {
    let query = this.#db
      .selectFrom(TABLE[kind])
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.limit + 1);
    // An org/team admin's filter is never dropped: an empty id matches nothing rather than everything.
    if (filter.id !== undefined) query = query.where('id', '=', filter.id);
    if (filter.name) query = query.where('name', '=', filter.name);
    if (filter.orgId !== undefined) {
      query =
        kind === 'team'
          ? query.where(sql<boolean>`org_id = ${filter.orgId}`)
          : query.where('id', '=', filter.orgId);
    }
    if (page.after) {
      const table = sql.table(TABLE[kind]);
      query = query.where(
        sql<boolean>`(created_at, id) < (select l.created_at, l.id from ${table} l where l.id = ${page.after})`,
      );
    }
    return toPage(
      await query.execute(),
      page,
      (r) => r.id,
      (r) => levelView(kind, r),
    );
  }

  async update(kind: LevelKind, id: string, input: LevelInput, actor: Actor): Promise<LevelView> {
    return this.#db.transaction().execute(async (trx) => {
      const set: Record<string, unknown> = { ...columns(input), updated_at: new Date(this.#clock.wallNow()) };
      if (kind === 'team' && input.org_id !== undefined) {
        if (input.org_id !== null) await this.#mustExist(trx, 'org', input.org_id);
        set.org_id = input.org_id;
        // The team's keys move with it.
        await trx.updateTable('api_keys').set({ org_id: input.org_id }).where('team_id', '=', id).execute();
      }
      const row = await trx
        .updateTable(TABLE[kind])
        .set(set as never)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new LevelNotFoundError(kind, id);
      await writeAudit(trx, actor, `${kind}.update`, id, { ...input }, placeIn(kind, row));
      return levelView(kind, row);
    });
  }

  /** Deletes an empty level: an organization without teams or active keys, a team without active keys. */
  async delete(kind: LevelKind, id: string, actor: Actor): Promise<LevelView> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom(TABLE[kind])
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) throw new LevelNotFoundError(kind, id);
      const keys = await trx
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where(kind === 'org' ? 'org_id' : 'team_id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(keys.n) > 0) {
        throw new LevelInUseError(`It still has ${keys.n} active key(s): revoke or move them first.`);
      }
      if (kind === 'org') {
        const teams = await trx
          .selectFrom('teams')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('org_id', '=', id)
          .executeTakeFirstOrThrow();
        if (Number(teams.n) > 0)
          throw new LevelInUseError(`It still has ${teams.n} team(s): delete them first.`);
      }
      await trx.deleteFrom(TABLE[kind]).where('id', '=', id).execute();
      await writeAudit(trx, actor, `${kind}.delete`, id, { name: row.name }, placeIn(kind, row));
      return levelView(kind, row);
    });
  }

  /** Every organization and team (the key store's refresh). */
  async all(): Promise<{ orgs: OrgRow[]; teams: TeamRow[] }> {
    const [orgs, teams] = await Promise.all([
      this.#db.selectFrom('organizations').selectAll().execute(),
      this.#db.selectFrom('teams').selectAll().execute(),
    ]);
    return { orgs, teams };
  }

  async #mustExist(trx: Pick<Db, 'selectFrom'>, kind: LevelKind, id: string): Promise<void> {
    const row = await trx.selectFrom(TABLE[kind]).select('id').where('id', '=', id).executeTakeFirst();
    if (!row) throw new LevelNotFoundError(kind, id);
  }
}

function placeIn(kind: LevelKind, row: OrgRow | TeamRow): { orgId: string | null; teamId: string | null } {
  return kind === 'org'
    ? { orgId: row.id, teamId: null }
    : { orgId: (row as TeamRow).org_id, teamId: row.id };
}
