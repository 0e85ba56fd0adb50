import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import type { Database } from './database.js';
import { DatabaseStore } from './database-store.js';

class Probe extends DatabaseStore {
  read<T>(ms: number, work: Promise<T>): Promise<T> {
    return this.within(ms, work);
  }
}
const probe = new Probe(() => ({}) as Database);

test('within: a query that never answers is refused at the deadline, not waited for (decision 0217)', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const hung = probe.read(2000, new Promise<never>(() => {}));
    mock.timers.tick(1999);
    let settled = false;
    void hung.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await Promise.resolve();
    assert.equal(settled, false, 'still waiting before the deadline');
    mock.timers.tick(1);
    await assert.rejects(hung, /did not answer within 2000 ms/);
  } finally {
    mock.timers.reset();
  }
});

test('within: an answer before the deadline is the answer, and its timer is cleared', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    assert.equal(await probe.read(2000, Promise.resolve(42)), 42);
    await assert.rejects(probe.read(2000, Promise.reject(new Error('refused'))), /refused/);
  } finally {
    mock.timers.reset();
  }
});
