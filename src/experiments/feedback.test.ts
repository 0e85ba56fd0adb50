import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Principal } from '../auth/principal.js';
import { ValidationError } from '../core/errors.js';
import { FeedbackService, MAX_FEEDBACK_MAGNITUDE } from './feedback.js';
import type { ExperimentStore } from './store.js';

const principal = { userId: 'u', keyId: 'k', tier: 'default', allowedModels: null } as unknown as Principal;

test('numeric feedback is a finite number within ±1e15, whatever range the metric declares', async () => {
  const stored: number[] = [];
  const store = {
    requestOwner: async () => 'key:k',
    putFeedback: async (row: { value: number }) => {
      stored.push(row.value);
    },
  } as unknown as ExperimentStore;
  const service = new FeedbackService(
    store,
    {
      edit_distance: { type: 'numeric', direction: 'lower' },
      wide: { type: 'numeric', min: -1e300, max: 1e300 },
      rating: { type: 'numeric', min: 1, max: 5 },
    },
    { recent: 10, onError: () => undefined },
  );
  const submit = (metric: string, value: unknown) =>
    service.submit(principal, { request_id: 'r', metric, value });
  const refused = async (metric: string, value: unknown, message: RegExp) => {
    await assert.rejects(submit(metric, value), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.equal(err.param, 'value');
      assert.match(err.message, message);
      return true;
    });
  };
  // 1e160 squared overflows a double: one such value used to make every report of the experiment a 500.
  await refused('edit_distance', 1e160, /between -1e15 and 1e15/);
  await refused('edit_distance', -1e16, /between -1e15 and 1e15/);
  await refused('wide', 1e200, /between -1e15 and 1e15/);
  await refused('rating', 6, /between 1 and 5/);
  await refused('edit_distance', '3', /finite number/);
  for (const value of [MAX_FEEDBACK_MAGNITUDE, -MAX_FEEDBACK_MAGNITUDE, 0.5]) {
    assert.equal((await submit('edit_distance', value)).value, value);
  }
  assert.deepEqual(stored, [1e15, -1e15, 0.5]);
});
