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
}
