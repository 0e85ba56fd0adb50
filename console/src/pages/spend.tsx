/**
 * Spend explorer: cost, requests and tokens grouped by team, key, user, model, tag or day over a date
 * range; a chart, a table and CSV export. Uses `GET /admin/spend` when the gateway has it, else the cost
 * reports (`/admin/costs/summary` by model, `/admin/costs/daily` by day).
 */
import { useMemo, useState } from 'preact/hooks';
import { ApiError, api, query } from '../api';
import { Chart } from '../components/chart';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, time, toCsv, usd } from '../format';
import { useLoad } from '../use-load';

export interface SpendRow {
  group: string;
  cost: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

const GROUPS = [
  { value: 'team', label: 'Team' },
  { value: 'key', label: 'Key' },
  { value: 'user', label: 'User' },
  { value: 'model', label: 'Model' },
  { value: 'tag', label: 'Tag' },
  { value: 'day', label: 'Day' },
] as const;
const FALLBACK_GROUPS = new Set(['model', 'day']);
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
    };
  });
}

interface Loaded {
  rows: SpendRow[];
  /** The full spend API is there (every grouping, server-side CSV). */
  full: boolean;
  /** The range the gateway used (its own clock decides the default: the last 30 days). */
  range?: { start: string; end: string };
}

async function load(groupBy: string, start: string, end: string): Promise<Loaded> {
  const range = { start_date: start, end_date: end };
  try {
    const res = await api.get<{ data: Array<Record<string, unknown>> }>(
      `/admin/spend${query({ group_by: groupBy, ...range })}`,
    );
    return { rows: fromSpend(res.data), full: true };
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
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
    return {
      full: false,
      range: { start: daily.start_date, end: daily.end_date },
      rows: daily.data.map((d) => ({
        group: d.date,
        cost: d.total_cost,
        requests: d.request_count,
        input_tokens: d.input_tokens,
        output_tokens: d.output_tokens,
      })),
    };
  }
  const summary = await api.get<{
    start_date: string;
    end_date: string;
    cost_by_model: Record<
      string,
      { cost: number; requests: number; input_tokens: number; output_tokens: number }
    >;
  }>(`/admin/costs/summary${query(range)}`);
  return {
    full: false,
    range: { start: summary.start_date, end: summary.end_date },
    rows: Object.entries(summary.cost_by_model).map(([model, m]) => ({ group: model, ...m })),
  };
}

export function Spend() {
  const [groupBy, setGroupBy] = useState<string>('model');
  // Empty: the gateway's default range (the last 30 days by its clock).
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const { data, error, loading, reload } = useLoad(() => load(groupBy, start, end), [groupBy, start, end]);
  const rows = useMemo(() => {
    const all = data?.rows ?? [];
    return groupBy === 'day'
      ? [...all].sort((a, b) => a.group.localeCompare(b.group))
      : [...all].sort((a, b) => b.cost - a.cost);
  }, [data, groupBy]);
  const total = rows.reduce((sum, r) => sum + r.cost, 0);
  const unsupported = data && !data.full && !FALLBACK_GROUPS.has(groupBy);
  const chart = useMemo(() => {
    if (groupBy === 'day') {
      return {
        x: rows.map((r) => Date.parse(`${r.group}T00:00:00Z`) / 1000),
        labels: undefined,
        series: [
          { label: 'cost', color: '#0f766e', values: rows.map((r) => r.cost), format: usd, bars: true },
        ],
      };
    }
    // The ten largest, with short labels (the table below has them all).
    const top = rows.slice(0, 10);
    return {
      x: top.map((_, i) => i),
      labels: top.map((r) => (r.group.length > 16 ? `${r.group.slice(0, 15)}…` : r.group)),
      series: [{ label: 'cost', color: '#0f766e', values: top.map((r) => r.cost), format: usd, bars: true }],
    };
  }, [rows, groupBy]);
  const exportCsv = () => {
    if (data?.full) {
      location.assign(
        `/admin/spend${query({ group_by: groupBy, start_date: start, end_date: end, format: 'csv' })}`,
      );
      return;
    }
    const csv = toCsv(
      [groupBy, 'cost', 'requests', 'input_tokens', 'output_tokens'],
      rows.map((r) => ({ ...r, [groupBy]: r.group })),
    );
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
    link.download = `spend-by-${groupBy}-${start || 'last-30-days'}${end ? `-${end}` : ''}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  return (
    <>
      <PageHeader title="Spend">
        <label for="group-by">Group by</label>
        <select
          id="group-by"
          value={groupBy}
          onChange={(e) => setGroupBy((e.target as HTMLSelectElement).value)}
        >
          {GROUPS.map((g) => (
            <option key={g.value} value={g.value}>
              {g.label}
            </option>
          ))}
        </select>
        <label for="spend-start">From</label>
        <input
          id="spend-start"
          type="date"
          value={start}
          max={end || undefined}
          onChange={(e) => setStart((e.target as HTMLInputElement).value)}
        />
        <label for="spend-end">To</label>
        <input
          id="spend-end"
          type="date"
          value={end}
          min={start || undefined}
          onChange={(e) => setEnd((e.target as HTMLInputElement).value)}
        />
        <button type="button" onClick={reload}>
          Refresh
        </button>
        <button type="button" onClick={exportCsv} disabled={rows.length === 0}>
          Export CSV
        </button>
      </PageHeader>
      <ErrorNote error={error} />
      {loading && !data ? <Loading /> : null}
      {unsupported ? (
        <p class="note">
          This gateway has no spend API yet (<code>GET /admin/spend</code>): grouping by {groupBy} needs it.
          Showing spend by model.
        </p>
      ) : null}
      {data && rows.length === 0 ? (
        <Empty title="No spend in this range">
          <p>
            Costs are recorded for every request once usage accounting is on (it is by default). Send traffic
            through the gateway, or widen the date range.
          </p>
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <>
          <p class="total">
            Total: <strong data-testid="spend-total">{usd(total)}</strong>
            {data?.range ? ` from ${time(data.range.start)} to ${time(data.range.end)} (UTC)` : ''} over{' '}
            {count(rows.length)} {groupBy === 'day' ? 'days' : 'groups'}
          </p>
          <Chart
            title={groupBy === 'day' ? 'Cost by day (USD)' : `Cost by ${groupBy}, top 10 (USD)`}
            x={chart.x}
            labels={chart.labels}
            series={chart.series}
          />
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Spend by {groupBy}</caption>
              <thead>
                <tr>
                  <th scope="col">{GROUPS.find((g) => g.value === groupBy)?.label}</th>
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  <th scope="col" class="num">
                    Input tokens
                  </th>
                  <th scope="col" class="num">
                    Output tokens
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.group}>
                    <td>{r.group}</td>
                    <td class="num">{usd(r.cost)}</td>
                    <td class="num">{count(r.requests)}</td>
                    <td class="num">{count(r.input_tokens)}</td>
                    <td class="num">{count(r.output_tokens)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </>
  );
}
