/**
 * The base of the stores that keep their rows in the gateway's database (stored responses, prompts,
 * experiments): the database is looked up on each call (it may be replaced, e.g. in tests) and every query
 * waits until it is open and migrated.
 */
import type { Database } from './database.js';

export abstract class DatabaseStore {
  readonly #database: () => Database;

  constructor(database: () => Database) {
    this.#database = database;
  }

  /** The query builder, once the database answered and migrations ran. */
  protected async db(): Promise<Database['db']> {
    const database = this.#database();
    await database.ready;
    return database.db;
  }

  /**
   * `work` (a query of the opened database), or a rejection when it has not settled within `ms`: a read on
   * the request path fails (503) when the database hangs instead of holding the request for as long as the
   * database does. The query itself goes on; its late result is dropped.
   */
  protected within<T>(ms: number, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
