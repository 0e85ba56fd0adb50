/**
 * What the Spend page shows, from the gateway: the grouped rows (`GET /admin/spend?group_by=…`, the top
 * 1,000 by cost), the range's real total (the same report without `group_by`: rows may be cut, and tag rows
 * overlap), team and key names for their ids, and the CSV export (up to the API's 10,000 rows, with
 * `X-Has-More`). A gateway without the spend API falls back to the cost reports (`/admin/costs/summary` by
 * model, `/admin/costs/daily` by day), which are complete lists.
 */
import { ApiError, api, type ListPage, query } from '../api';
import { toCsv } from '../format';

export interface SpendRow {
  /** The group's value: a team or key id, a user, model, tag or day (`(none)` when unset). */
  group: string;
  /** A team's or key's name, when the group is one and the name is known. */
  name?: string;
  cost: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  /** Requests without a known price (their cost is not in `cost`); null: the gateway does not say. */
  unpriced: number | null;
}

export interface SpendTotal {
  cost: number;
  requests: number;
  unpriced: number | null;
}

export interface Loaded {
  rows: SpendRow[];
  /** The spend of the whole range: never the sum of the rows. */
  total: SpendTotal;
  /** The full spend API is there (every grouping, server-side CSV). */
  full: boolean;
  /** More groups had spend than the rows hold (the top `limit` by cost). */
  hasMore: boolean;
  limit: number;
  /** The UTC days the gateway used (its own clock decides the default: the last 30 days). */
  range?: { start: string; end: string };
}

/** Rows the page asks for (the API's default); the CSV export asks for the API's maximum. */
export const TABLE_LIMIT = 1_000;
export const EXPORT_LIMIT = 10_000;

/** The grouping fields `GET /admin/spend` answers with (one per dimension asked for). */
const DIMENSIONS = ['org_id', 'team_id', 'key_id', 'user_id', 'model', 'provider', 'tag', 'day'];

/** Rows of `GET /admin/spend`: the dimension field is the group (the rest are measures). */
export function fromSpend(data: Array<Record<string, unknown>>): SpendRow[] {
  return data.map((r) => {
    const groupField = DIMENSIONS.find((k) => k in r);
    return {
      group: String((groupField ? r[groupField] : null) ?? '(none)'),
      cost: Number(r.cost ?? 0),
      requests: Number(r.requests ?? 0),
      input_tokens: Number(r.input_tokens ?? 0),
      output_tokens: Number(r.output_tokens ?? 0),
      unpriced: r.unpriced_requests === undefined ? null : Number(r.unpriced_requests),
    };
  });
}

interface SpendAnswer {
  start_date: string;
  end_date: string;
  limit: number;
  has_more: boolean;
  data: Array<Record<string, unknown>>;
}

/** Names of the teams or keys among `ids` (the lists, 1,000 a page, until every id is found). */
async function namesOf(groupBy: 'team' | 'key', ids: ReadonlySet<string>): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  const base = groupBy === 'team' ? '/admin/teams' : '/admin/keys';
  let cursor: string | null | undefined;
  // Bounded: a tenant with more than 20,000 teams or keys sees the rest by id.
  for (let page = 0; page < 20 && names.size < ids.size; page++) {
    const res = await api.get<ListPage<{ id: string; name: string | null }>>(
      `${base}${query({ limit: 1000, cursor, include_revoked: groupBy === 'key' ? 'true' : undefined })}`,
    );
    for (const item of res.data) if (ids.has(item.id) && item.name) names.set(item.id, item.name);
    cursor = res.next_cursor;
    if (!cursor) break;
  }
  return names;
}

async function fromSpendApi(groupBy: string, start: string, end: string): Promise<Loaded> {
  const range = { start_date: start, end_date: end };
  const [grouped, whole] = await Promise.all([
    api.get<SpendAnswer>(`/admin/spend${query({ group_by: groupBy, ...range, limit: TABLE_LIMIT })}`),
    api.get<SpendAnswer>(`/admin/spend${query(range)}`),
  ]);
  const rows = fromSpend(grouped.data);
  if (groupBy === 'team' || groupBy === 'key') {
    const names = await namesOf(groupBy, new Set(rows.map((r) => r.group))).catch((err: unknown) => {
      // Names are a convenience: without them the ids are shown (a lost session still signs out).
      if (err instanceof ApiError && err.status === 401) throw err;
      return new Map<string, string>();
    });
    for (const row of rows) row.name = names.get(row.group);
  }
  const [all] = fromSpend(whole.data);
  return {
    rows,
    total: { cost: all?.cost ?? 0, requests: all?.requests ?? 0, unpriced: all?.unpriced ?? 0 },
    full: true,
    hasMore: grouped.has_more,
    limit: grouped.limit,
    range: { start: grouped.start_date, end: grouped.end_date },
  };
}

/** The cost reports' complete lists: their sum is the total. */
function complete(rows: SpendRow[], range: { start: string; end: string }): Loaded {
  const total = {
    cost: rows.reduce((sum, r) => sum + r.cost, 0),
    requests: rows.reduce((sum, r) => sum + r.requests, 0),
    unpriced: null,
  };
  return { rows, total, full: false, hasMore: false, limit: rows.length, range };
}

export async function loadSpend(groupBy: string, start: string, end: string): Promise<Loaded> {
  try {
    return await fromSpendApi(groupBy, start, end);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  const range = { start_date: start, end_date: end };
  if (groupBy === 'day') {
    const daily = await api.get<{
      start_date: string;
      end_date: string;
      data: Array<{
        date: string;
        total_cost: number;
        request_count: number;
        input_tokens: number;
        output_tokens: number;
      }>;
    }>(`/admin/costs/daily${query(range)}`);
    const rows = daily.data.map((d) => ({
      group: d.date,
      cost: d.total_cost,
      requests: d.request_count,
      input_tokens: d.input_tokens,
      output_tokens: d.output_tokens,
      unpriced: null,
    }));
    return complete(rows, { start: daily.start_date, end: daily.end_date });
  }
  const summary = await api.get<{
    start_date: string;
    end_date: string;
    cost_by_model: Record<
      string,
      { cost: number; requests: number; input_tokens: number; output_tokens: number }
    >;
  }>(`/admin/costs/summary${query(range)}`);
  const rows = Object.entries(summary.cost_by_model).map(([model, m]) => ({
    group: model,
    ...m,
    unpriced: null,
  }));
  return complete(rows, { start: summary.start_date, end: summary.end_date });
}

/** Every UTC day from `start` to `end` (`YYYY-MM-DD`, both included; timestamps are cut to their day). */
export function daysBetween(start: string, end: string): string[] {
  const days: string[] = [];
  const last = Date.parse(`${end.slice(0, 10)}T00:00:00Z`);
  for (
    let t = Date.parse(`${start.slice(0, 10)}T00:00:00Z`);
    t <= last && days.length < 3_660;
    t += 86_400_000
  )
    days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** Saves `text` as a file named `name`. */
export function saveFile(text: string, name: string): void {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

/**
 * Exports the report as CSV: the gateway's own (the top 10,000 rows, its columns) when it has the spend
 * API, else the table. Resolves with whether rows were left out (`X-Has-More`).
 */
export async function exportSpend(
  data: Loaded,
  rows: readonly SpendRow[],
  groupBy: string,
  start: string,
  end: string,
): Promise<{ cut: boolean }> {
  const name = `spend-by-${groupBy}-${start || data.range?.start.slice(0, 10) || 'last-30-days'}${end ? `-${end}` : ''}.csv`;
  if (data.full) {
    const csv = await api.download(
      `/admin/spend${query({ group_by: groupBy, start_date: start, end_date: end, limit: EXPORT_LIMIT, format: 'csv' })}`,
      'text/csv',
    );
    saveFile(csv.text, name);
    return { cut: csv.headers.get('x-has-more') === 'true' };
  }
  const csv = toCsv(
    [groupBy, 'cost', 'requests', 'input_tokens', 'output_tokens'],
    rows.map((r) => ({ ...r, [groupBy]: r.group })),
  );
  saveFile(csv, name);
  return { cut: false };
}
