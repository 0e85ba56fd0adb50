import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Insertable } from 'kysely';
import pino from 'pino';
import { type Database, openDatabase } from '../../stores/database.js';
import type { StoredResponseTable } from '../../stores/schema.js';
import { createMetrics } from '../../telemetry/metrics.js';
import type { ResponseObject } from './state.js';
import { pageOf, ResponseStore, type StoredResponse } from './store.js';

const items = ['a', 'b', 'c'].map((id) => ({ id, item: { type: 'message', role: 'user', content: id } }));

test('pageOf: ids of the first and last item on the page, has_more, order', () => {
  const page = pageOf(items, { limit: 2, order: 'asc' });
  assert.deepEqual(
    page.data.map((i) => i.id),
    ['a', 'b'],
  );
  assert.equal(page.first_id, 'a');
  assert.equal(page.last_id, 'b');
  assert.equal(page.has_more, true);
  const desc = pageOf(items, { limit: 20, order: 'desc', after: 'c' });
  assert.deepEqual([desc.first_id, desc.last_id, desc.has_more], ['b', 'a', false]);
});

test('pageOf: an empty page has first_id and last_id "", strings as the OpenAPI document requires (decision 0212)', () => {
  for (const options of [
    { limit: 20, order: 'asc' as const, after: 'c' },
    { limit: 20, order: 'desc' as const, after: 'missing' },
  ]) {
    assert.deepStrictEqual(pageOf(items, options), {
      object: 'list',
      data: [],
      first_id: '',
      last_id: '',
      has_more: false,
    });
  }
  assert.deepStrictEqual(pageOf([], { limit: 20, order: 'desc' }).first_id, '');
});

/** A store whose writes wait until the test lets them go (a database slower than the client). */
class HeldStore extends ResponseStore {
  release: () => void = () => {};
  readonly #gate = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  protected override async insert(db: Database['db'], row: Insertable<StoredResponseTable>): Promise<void> {
    await this.#gate;
    await super.insert(db, row);
  }
}

let database: Database;
before(async () => {
  database = openDatabase(
    { url: null, dataDir: 'memory://' },
    { logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) },
  );
  await database.ready;
});
after(() => database.close());

const record = (id: string): StoredResponse => ({
  id,
  native: false,
  deployment: null,
  previousResponseId: null,
  inputItems: [],
  history: [],
  response: {
    id,
    object: 'response',
    model: 'm',
    status: 'completed',
    output: [],
  } as unknown as ResponseObject,
});

test('a read or delete right after a save waits for the write: a chained or retrieved response is found', async () => {
  const store = new HeldStore(() => database);
  const saved = store.save('key:a', record('resp_1'), new Date(0));
  const read = store.get('key:a', 'resp_1');
  // The write is held: the read must wait for it, not answer "not found" meanwhile.
  store.release();
  await saved;
  assert.equal((await read)?.id, 'resp_1');
  assert.equal(await store.delete('key:a', 'resp_1'), true);
  // Another scope never sees it, written or not.
  await store.save('key:a', record('resp_2'), new Date(0));
  assert.equal(await store.get('key:b', 'resp_2'), null);
});
