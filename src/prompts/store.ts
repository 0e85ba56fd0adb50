/**
 * Prompts in the database (migration 0008): prompts, immutable numbered versions and movable labels.
 *
 * - A version is written once (`insert`) and never updated: this class has no update path, and a trigger
 *   refuses any UPDATE of `prompt_versions` (decision 0110).
 * - The next version number is computed inside the INSERT (`max + 1`); two writers racing for the same
 *   number collide on the primary key and the loser tries again.
 * - A label moves with one upsert statement (atomic: a reader sees the old version or the new one, never
 *   neither); the foreign key refuses a version that does not exist.
 */
import { sql } from 'kysely';
import { DatabaseStore } from '../stores/database-store.js';
import { auditChange, type ChangeActor } from './audit.js';
import type { PromptMessage, VariableDecls } from './template.js';

/** One immutable version of a prompt. */
export interface PromptVersion {
  readonly id: string;
  readonly version: number;
  readonly messages: readonly PromptMessage[];
  readonly variables: VariableDecls;
  /** Model or alias the version asks for; null = the request's. */
  readonly model: string | null;
  /** Request parameters (temperature, max_tokens …) applied unless the request sets them. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly note: string | null;
  readonly createdAt: string;
}

export interface NewVersion {
  messages: readonly PromptMessage[];
  variables: VariableDecls;
  model: string | null;
  params: Readonly<Record<string, unknown>>;
  note: string | null;
}

export interface PromptSummary {
  id: string;
  archived: boolean;
  latest_version: number;
  labels: Record<string, number>;
  created_at: string;
}

/** The prompt id is taken (create) — 409. */
export class PromptExistsError extends Error {}
/** No such prompt, version or label — 404. */
export class PromptNotFoundError extends Error {}

type Row = {
  prompt_id: string;
  version: number;
  messages: string;
  variables: string;
  model: string | null;
  params: string;
  note: string | null;
  created_at: Date | string;
};

function toVersion(row: Row): PromptVersion {
  return {
    id: row.prompt_id,
    version: row.version,
    messages: JSON.parse(row.messages) as PromptMessage[],
    variables: JSON.parse(row.variables) as VariableDecls,
    model: row.model,
    params: JSON.parse(row.params) as Record<string, unknown>,
    note: row.note,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

export class PromptStore extends DatabaseStore {
  /** Creates a prompt with its version 1. @throws PromptExistsError */
  async create(id: string, first: NewVersion, who: ChangeActor): Promise<PromptVersion> {
    const db = await this.db();
    try {
      return await db.transaction().execute(async (trx) => {
        await trx.insertInto('prompts').values({ id }).execute();
        const row = await trx
          .insertInto('prompt_versions')
          .values({ prompt_id: id, version: 1, ...columns(first) })
          .returningAll()
          .executeTakeFirstOrThrow();
        await auditChange(trx, who, 'prompt.create', id, {
          version: 1,
          model: first.model,
          note: first.note,
        });
        return toVersion(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new PromptExistsError(`A prompt '${id}' exists already.`);
      throw err;
    }
  }

  /** Adds the next version. @throws PromptNotFoundError */
  async addVersion(id: string, next: NewVersion, who: ChangeActor): Promise<PromptVersion> {
    const db = await this.db();
    await this.#requirePrompt(id);
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await db
          .insertInto('prompt_versions')
          .columns(['prompt_id', 'version', 'messages', 'variables', 'model', 'params', 'note'])
          .expression((eb) =>
            eb
              .selectFrom('prompt_versions')
              .where('prompt_id', '=', id)
              .select([
                sql.lit(id).as('prompt_id'),
                sql<number>`coalesce(max(version), 0) + 1`.as('version'),
                sql.val(JSON.stringify(next.messages)).as('messages'),
                sql.val(JSON.stringify(next.variables)).as('variables'),
                sql.val(next.model).as('model'),
                sql.val(JSON.stringify(next.params)).as('params'),
                sql.val(next.note).as('note'),
              ]),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        await auditChange(db, who, 'prompt.version', id, {
          version: row.version,
          model: next.model,
          note: next.note,
        });
        return toVersion(row);
      } catch (err) {
        if (!isUniqueViolation(err) || attempt >= 4) throw err;
      }
    }
  }

  /** One version. @throws PromptNotFoundError */
  async version(id: string, version: number): Promise<PromptVersion> {
    const db = await this.db();
    const row = await db
      .selectFrom('prompt_versions')
      .selectAll()
      .where('prompt_id', '=', id)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) throw new PromptNotFoundError(`Prompt '${id}' has no version ${version}.`);
    return toVersion(row);
  }

  /** Every version, newest first. @throws PromptNotFoundError */
  async versions(id: string): Promise<PromptVersion[]> {
    const db = await this.db();
    await this.#requirePrompt(id);
    const rows = await db
      .selectFrom('prompt_versions')
      .selectAll()
      .where('prompt_id', '=', id)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toVersion);
  }

  /**
   * The version a label points at, and whether the prompt is archived (null = no such label).
   * @throws PromptNotFoundError when the prompt does not exist
   */
  async label(id: string, label: string): Promise<{ version: number | null; archived: boolean }> {
    const db = await this.db();
    const row = await db
      .selectFrom('prompts')
      .leftJoin('prompt_labels', (j) =>
        j.onRef('prompt_labels.prompt_id', '=', 'prompts.id').on('prompt_labels.label', '=', label),
      )
      .select(['prompts.archived_at', 'prompt_labels.version'])
      .where('prompts.id', '=', id)
      .executeTakeFirst();
    if (!row) throw new PromptNotFoundError(`No prompt '${id}'.`);
    return { version: row.version ?? null, archived: row.archived_at !== null };
  }

  /**
   * Points a label at a version, in one statement (atomic). Returns the version it pointed at before.
   * @throws PromptNotFoundError when the prompt or the version does not exist
   */
  async setLabel(id: string, label: string, version: number, who: ChangeActor): Promise<number | null> {
    const db = await this.db();
    await this.version(id, version);
    return db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('prompt_labels')
        .select('version')
        .where('prompt_id', '=', id)
        .where('label', '=', label)
        .forUpdate()
        .executeTakeFirst();
      await trx
        .insertInto('prompt_labels')
        .values({ prompt_id: id, label, version })
        .onConflict((c) => c.columns(['prompt_id', 'label']).doUpdateSet({ version, updated_at: sql`now()` }))
        .execute();
      await auditChange(trx, who, 'prompt.label', id, { label, version, previous: before?.version ?? null });
      return before?.version ?? null;
    });
  }

  /** Archives a prompt: requests can no longer use it; its versions stay readable. */
  async archive(id: string, at: Date, who: ChangeActor): Promise<void> {
    const db = await this.db();
    const result = await db
      .updateTable('prompts')
      .set({ archived_at: at })
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new PromptNotFoundError(`No prompt '${id}'.`);
    await auditChange(db, who, 'prompt.archive', id, {});
  }

  /** Every prompt with its labels and latest version (archived ones only with `all`). */
  list(all = false): Promise<PromptSummary[]> {
    return this.#summaries(all ? null : 'active');
  }

  /** One prompt's summary. @throws PromptNotFoundError */
  async get(id: string): Promise<PromptSummary> {
    const [found] = await this.#summaries(null, id);
    if (!found) throw new PromptNotFoundError(`No prompt '${id}'.`);
    return found;
  }

  async #summaries(only: 'active' | null, id?: string): Promise<PromptSummary[]> {
    const db = await this.db();
    let query = db
      .selectFrom('prompts')
      .innerJoin('prompt_versions', 'prompt_versions.prompt_id', 'prompts.id')
      .select(['prompts.id', 'prompts.archived_at', 'prompts.created_at'])
      .select((eb) => eb.fn.max('prompt_versions.version').as('latest'))
      .groupBy(['prompts.id', 'prompts.archived_at', 'prompts.created_at'])
      .orderBy('prompts.id');
    if (only === 'active') query = query.where('prompts.archived_at', 'is', null);
    if (id !== undefined) query = query.where('prompts.id', '=', id);
    const rows = await query.execute();
    let labels = db.selectFrom('prompt_labels').select(['prompt_id', 'label', 'version']);
    if (id !== undefined) labels = labels.where('prompt_id', '=', id);
    const labelRows = await labels.execute();
    return rows.map((r) => ({
      id: r.id,
      archived: r.archived_at !== null,
      latest_version: Number(r.latest),
      labels: Object.fromEntries(
        labelRows.filter((l) => l.prompt_id === r.id).map((l) => [l.label, l.version]),
      ),
      created_at: new Date(r.created_at).toISOString(),
    }));
  }

  async #requirePrompt(id: string): Promise<void> {
    const db = await this.db();
    const row = await db.selectFrom('prompts').select('id').where('id', '=', id).executeTakeFirst();
    if (!row) throw new PromptNotFoundError(`No prompt '${id}'.`);
  }
}

function columns(v: NewVersion) {
  return {
    messages: JSON.stringify(v.messages),
    variables: JSON.stringify(v.variables),
    model: v.model,
    params: JSON.stringify(v.params),
    note: v.note,
  };
}
