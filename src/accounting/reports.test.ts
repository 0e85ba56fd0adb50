import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../core/errors.js';
import { parseReportQuery } from './reports.js';

const NOW = Date.UTC(2026, 10, 27, 12);

test('date-only end_date includes the whole day; default range is 30 days', () => {
  const q = parseReportQuery({ start_date: '2026-11-01', end_date: '2026-11-02', user_id: 'alice' }, NOW);
  assert.equal(q.start.toISOString(), '2026-11-01T00:00:00.000Z');
  assert.equal(q.end.toISOString(), '2026-11-03T00:00:00.000Z');
  assert.equal(q.userId, 'alice');
  const d = parseReportQuery({}, NOW);
  assert.equal(d.end.getTime(), NOW);
  assert.equal(d.end.getTime() - d.start.getTime(), 30 * 86_400_000);
  const t = parseReportQuery(
    { start_date: '2026-11-01T10:00:00Z', end_date: '2026-11-01T12:00:00+01:00' },
    NOW,
  );
  assert.equal(t.end.toISOString(), '2026-11-01T11:00:00.000Z');
});

test('bad dates are a 422 naming the parameter', () => {
  for (const [query, param] of [
    [{ start_date: 'yesterday' }, 'start_date'],
    [{ start_date: '2026-02-30' }, 'start_date'],
    [{ end_date: '2026-13-01' }, 'end_date'],
    [{ end_date: '18/02/2025' }, 'end_date'],
    [{ start_date: '2026-11-05', end_date: '2026-11-01' }, 'end_date'],
    [{ start_date: ['2026-11-01', '2026-11-02'] }, 'start_date'],
  ] as const) {
    assert.throws(
      () => parseReportQuery(query as Record<string, unknown>, NOW),
      (err: unknown) => err instanceof ValidationError && err.status === 422 && err.param === param,
      JSON.stringify(query),
    );
  }
});
