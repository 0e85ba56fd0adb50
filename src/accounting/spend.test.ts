import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForbiddenError, ValidationError } from '../core/errors.js';
import { type AdminActor, GLOBAL_ADMIN } from '../core/feature.js';
import { parseSpendQuery, spendCsv } from './spend.js';

const NOW = Date.UTC(2026, 2, 31, 15);
const ORG_ADMIN: AdminActor = { role: 'org_admin', keyId: 'k-org', orgId: 'org-a', teamId: null };
const TEAM_ADMIN: AdminActor = { role: 'team_admin', keyId: 'k-team', orgId: 'org-a', teamId: 'team-1' };

test('defaults: no grouping, the last 30 UTC days including today, top 1000, JSON', () => {
  const q = parseSpendQuery({}, GLOBAL_ADMIN, NOW);
  assert.deepEqual(q, {
    groupBy: [],
    startDay: '2026-03-02',
    endDay: '2026-03-31',
    filters: {},
    limit: 1000,
    format: 'json',
  });
  const full = parseSpendQuery(
    { group_by: 'team, model,day', team_id: 't', key_id: 'k', tag: 'x', limit: '5', format: 'csv' },
    GLOBAL_ADMIN,
    NOW,
  );
  assert.deepEqual(full.groupBy, ['team', 'model', 'day']);
  assert.deepEqual(full.filters, { team: 't', key: 'k', tag: 'x' });
  assert.equal(full.limit, 5);
});

test('an org admin is held to its organization, a team admin to its team (403 for another one)', () => {
  assert.deepEqual(parseSpendQuery({ group_by: 'team' }, ORG_ADMIN, NOW).filters, { org: 'org-a' });
  assert.deepEqual(parseSpendQuery({ team_id: 'team-9' }, ORG_ADMIN, NOW).filters, {
    org: 'org-a',
    team: 'team-9',
  });
  // Its team only: a team moved to another organization keeps its history (records keep their org).
  assert.deepEqual(parseSpendQuery({}, TEAM_ADMIN, NOW).filters, { team: 'team-1' });
  assert.deepEqual(parseSpendQuery({ org_id: 'org-a' }, TEAM_ADMIN, NOW).filters, {
    org: 'org-a',
    team: 'team-1',
  });
  for (const [query, actor, param] of [
    [{ org_id: 'org-b' }, ORG_ADMIN, 'org_id'],
    [{ team_id: 'team-2' }, TEAM_ADMIN, 'team_id'],
    [{ org_id: 'org-b' }, TEAM_ADMIN, 'org_id'],
  ] as const) {
    assert.throws(
      () => parseSpendQuery(query, actor, NOW),
      (err: unknown) => err instanceof ForbiddenError && err.status === 403 && err.param === param,
    );
  }
  // A team admin whose key lost its team sees nothing rather than everything.
  const orphan = parseSpendQuery({}, { ...TEAM_ADMIN, teamId: null }, NOW);
  assert.notEqual(orphan.filters.team, undefined);
});

test('bad parameters are a 422 naming them', () => {
  for (const [query, param] of [
    [{ group_by: 'team,colour' }, 'group_by'],
    [{ group_by: 'day,day' }, 'group_by'],
    [{ start_date: '2026-02-30' }, 'start_date'],
    [{ start_date: '2026-03-01T00:00:00Z' }, 'start_date'],
    [{ start_date: '2026-03-05', end_date: '2026-03-01' }, 'end_date'],
    [{ start_date: '2000-01-01' }, 'start_date'],
    [{ limit: '10001' }, 'limit'],
    [{ limit: '2.5' }, 'limit'],
    [{ format: 'xlsx' }, 'format'],
    [{ team_id: ['a', 'b'] }, 'team_id'],
  ] as const) {
    assert.throws(
      () => parseSpendQuery(query as Record<string, unknown>, GLOBAL_ADMIN, NOW),
      (err: unknown) => err instanceof ValidationError && err.status === 422 && err.param === param,
      JSON.stringify(query),
    );
  }
});

test('CSV: a header, quoted fields where needed, formulas kept as text', () => {
  const row = {
    cost: 1.5,
    requests: 2,
    input_tokens: 3,
    output_tokens: 4,
    saved_cost: 0,
    cached_requests: 0,
    unpriced_requests: 0,
  };
  const csv = spendCsv(
    ['tag', 'team'],
    [
      { ...row, tag: '=cmd', team_id: 'a,"b"' },
      { ...row, tag: 'plain', team_id: null },
    ],
  );
  assert.equal(
    csv,
    'tag,team_id,cost,requests,input_tokens,output_tokens,saved_cost,cached_requests,unpriced_requests\r\n' +
      `'=cmd,"a,""b""",1.5,2,3,4,0,0,0\r\n` +
      'plain,,1.5,2,3,4,0,0,0\r\n',
  );
});
