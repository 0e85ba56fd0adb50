/**
 * Stored responses in the database (`stored_responses`, migration 0004), always read within a scope (the
 * API key that created them): a response of another key is "not found". The database is opened on first
 * use; callers decide what a failure means (writing never fails an answer, reading fails the request).
 */
import type { Insertable } from 'kysely';
import type { Database } from '../../stores/database.js';
import { DatabaseStore } from '../../stores/database-store.js';
import type { StoredResponseTable } from '../../stores/schema.js';
import type { ResponseObject } from './state.js';
import type { Item } from './translate-request.js';

export interface StoredResponse {
  id: string;
  native: boolean;
  /** The deployment that answered a native response (`Deployment.id`); null when translated or stored before 0014. */
  deployment: string | null;
  previousResponseId: string | null;
  /** This request's input items with their ids. */
  inputItems: Array<{ id: string; item: Item }>;
  /** The conversation before this request, as input items. */
  history: Item[];
  response: ResponseObject;
}

export interface ListOptions {
  after?: string | undefined;
  before?: string | undefined;
  limit: number;
  order: 'asc' | 'desc';
}

/** The longest a request waits for a stored response (a hung database: 503 after it, decision 0217). */
export const READ_DEADLINE_MS = 2_000;

export class ResponseStore extends DatabaseStore {
  /**
   * Writes not finished yet, by response id: a read or delete of that id waits for its write (at most the
   * read deadline), so a client that chains or retrieves a response right after it was answered — a stream's
   * final event goes out before the row is written — finds it on this instance.
   */
  readonly #saving = new Map<string, Promise<void>>();

  /** Stores a response; a read of its id on this instance waits for it (see `#saving`). */
  save(scope: string, record: StoredResponse, createdAt: Date): Promise<void> {
    const write = this.#write(scope, record, createdAt);
    const settled = write.then(
      () => {},
      () => {},
    );
    this.#saving.set(record.id, settled);
    void settled.then(() => {
      if (this.#saving.get(record.id) === settled) this.#saving.delete(record.id);
    });
    return write;
  }

  /** Resolves once the write of `id` in progress (if any) settled, or the read deadline passed. */
  async written(id: string): Promise<void> {
    const pending = this.#saving.get(id);
    if (pending) await this.within(READ_DEADLINE_MS, pending).catch(() => {});
  }

  async #write(scope: string, record: StoredResponse, createdAt: Date): Promise<void> {
    const db = await this.db();
    const row = {
      id: record.id,
      scope,
      created_at: createdAt,
      model: String(record.response.model),
      status: record.response.status,
      native: record.native,
      deployment: record.deployment,
      previous_response_id: record.previousResponseId,
      input_items: JSON.stringify(record.inputItems),
      history: JSON.stringify(record.history),
      response: JSON.stringify(record.response),
    };
    await this.insert(db, row);
  }

  /** The row's upsert (its own method so a test can hold a write back). */
  protected async insert(db: Database['db'], row: Insertable<StoredResponseTable>): Promise<void> {
    await db
      .insertInto('stored_responses')
      .values(row)
      .onConflict((c) =>
        c
          .column('id')
          .doUpdateSet({ status: row.status, response: row.response })
          .where('stored_responses.scope', '=', row.scope),
      )
      .execute();
  }

  async get(scope: string, id: string): Promise<StoredResponse | null> {
    await this.written(id);
    const db = await this.db();
    const row = await this.within(
      READ_DEADLINE_MS,
      db
        .selectFrom('stored_responses')
        .selectAll()
        .where('id', '=', id)
        .where('scope', '=', scope)
        .executeTakeFirst(),
    );
    if (!row) return null;
    return {
      id: row.id,
      native: row.native,
      deployment: row.deployment ?? null,
      previousResponseId: row.previous_response_id,
      inputItems: JSON.parse(row.input_items) as StoredResponse['inputItems'],
      history: JSON.parse(row.history) as Item[],
      response: JSON.parse(row.response) as ResponseObject,
    };
  }

  /** Deletes a response of this scope; false when there is none. */
  async delete(scope: string, id: string): Promise<boolean> {
    await this.written(id);
    const db = await this.db();
    const result = await this.within(
      READ_DEADLINE_MS,
      db.deleteFrom('stored_responses').where('id', '=', id).where('scope', '=', scope).executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }
}

/**
 * One page of a response's input items (OpenAI's list object: `first_id`, `last_id`, `has_more`). An empty
 * page has `first_id` and `last_id` `""`: the OpenAPI document requires strings for this list (decision 0212).
 */
export function pageOf(items: StoredResponse['inputItems'], options: ListOptions) {
  let all = options.order === 'asc' ? [...items] : [...items].reverse();
  if (options.after !== undefined) {
    const at = all.findIndex((i) => i.id === options.after);
    all = at < 0 ? [] : all.slice(at + 1);
  }
  if (options.before !== undefined) {
    const at = all.findIndex((i) => i.id === options.before);
    all = at < 0 ? [] : all.slice(0, at);
  }
  const page = all.slice(0, options.limit).map(({ id, item }) => ({ ...item, id }));
  return {
    object: 'list',
    data: page,
    first_id: page[0]?.id ?? '',
    last_id: page.at(-1)?.id ?? '',
    has_more: all.length > page.length,
  };
}
