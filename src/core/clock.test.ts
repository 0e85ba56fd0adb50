import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayOf } from '../stores/usage-rollups.js';
import { isoNow, isoOf, logTimestamp } from './clock.js';

test('isoOf formats exactly as Date#toISOString, whatever second was formatted before', () => {
  const samples = [
    0, 1, 9, 10, 99, 100, 999, 1000, 1001, 59_999, 60_000, 1_764_950_399_999, 1_764_950_400_000,
    1_764_950_400_007, 1_764_950_400_070, 1_764_950_400_700, 951_782_400_000 /* 2000-02-29 */,
    253_402_300_799_999 /* year 9999 */, 253_402_300_800_000 /* +010000 */, -1, -1000, -86_400_001, 1.5,
    999.9,
  ];
  // Forwards, backwards and interleaved: the cached second must never leak into another second.
  for (const ms of [...samples, ...samples.toReversed(), 5_000, 5_999, 4_999, 5_000])
    assert.equal(isoOf(ms), new Date(ms).toISOString(), String(ms));
  assert.throws(() => isoOf(Number.NaN), RangeError);
});

test('isoNow reads the given clock; logTimestamp is the field pino writes', () => {
  assert.equal(isoNow({ wallNow: () => 1_764_950_400_042 }), '2025-12-05T16:00:00.042Z');
  assert.match(logTimestamp(), /^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
});

test('dayOf names the UTC day of any millisecond, across day boundaries in either order', () => {
  const DAY = 86_400_000;
  const start = 1_764_892_800_000; // 2025-12-05T00:00:00Z
  const cases = [start, start + DAY - 1, start + DAY, start - 1, start + 1, -1, 0, DAY - 1, -DAY, -DAY - 1];
  for (const ms of [...cases, ...cases.toReversed()])
    assert.equal(dayOf(ms), new Date(ms).toISOString().slice(0, 10), String(ms));
});
