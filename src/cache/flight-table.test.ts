import assert from 'node:assert/strict';
import { test } from 'node:test';
import { promotedPerValue } from '../../test/helpers/churn.js';
import { FlightTable } from './single-flight.js';

test('a flight is found by key until it leaves; only the flight registered under the key removes it', () => {
  const table = new FlightTable<{ name: string }>();
  const first = { name: 'first' };
  const second = { name: 'second' };
  assert.equal(table.get('k'), undefined);
  table.set('k', first);
  assert.equal(table.get('k'), first);
  assert.equal(table.size, 1);
  table.set('k', second); // a newer call took the key over
  assert.equal(table.get('k'), second);
  table.delete('k', first); // the older call ending does not remove the newer one
  assert.equal(table.get('k'), second);
  table.delete('k', second);
  assert.equal(table.get('k'), undefined);
  assert.equal(table.size, 0);
  table.set('k', first);
  assert.equal(table.get('k'), first, 'the key can be taken again');
});

test('flights that left the table are not promoted by scavenges (decision 0191)', () => {
  // Each flight is ~4 KB; what may stay is the key and an empty holder, for the tables a churning map leaves.
  const flights = promotedPerValue('flights');
  assert.ok(flights < 300, `the table promoted ${flights} B per flight`);
});
