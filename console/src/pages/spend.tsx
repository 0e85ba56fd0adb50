/**
 * Spend explorer: cost, requests and tokens grouped by team, key, user, model, tag or day over a date
 * range; the range's real total, a chart, a table and CSV export (data: spend-data.ts). The page never
 * presents a cut list as the whole: the total is the range's own, and a table cut at 1,000 groups says so.
 */
import { useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Chart } from '../components/chart';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, time, usd, usdTick } from '../format';
import { useLoad } from '../use-load';
import { daysBetween, EXPORT_LIMIT, exportSpend, loadSpend, type SpendRow } from './spend-data';

export { fromSpend, type SpendRow } from './spend-data';

const GROUPS = [
  { value: 'team', label: 'Team', plural: 'teams' },
  { value: 'key', label: 'Key', plural: 'keys' },
  { value: 'user', label: 'User', plural: 'users' },
  { value: 'model', label: 'Model', plural: 'models' },
  { value: 'tag', label: 'Tag', plural: 'tags' },
  { value: 'day', label: 'Day', plural: 'days' },
] as const;
const FALLBACK_GROUPS = new Set(['model', 'day']);
/** Groupings whose ids have names (shown, with the id beside them). */
const NAMED = new Set(['team', 'key']);

/** A group as people know it: a team's or key's name, else its id (or what stands for none). */
function shown(r: SpendRow, groupBy: string): string {
  if (r.name) return r.name;
  if (r.group === '(none)')
    return groupBy === 'team' ? '(no team)' : groupBy === 'tag' ? '(no tag)' : '(none)';
  return r.group;
}

const short = (text: string) => (text.length > 16 ? `${text.slice(0, 15)}…` : text);

export function Spend() {
  const [groupBy, setGroupBy] = useState<string>('model');
  // Empty: the gateway's default range (the last 30 days by its clock).
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const report = `${groupBy}|${start}|${end}`;
  const loaded = useLoad(
    async () => ({ of: report, ...(await loadSpend(groupBy, start, end)) }),
    [groupBy, start, end],
  );
  const { error, loading, reload } = loaded;
  // Only the report asked for: while another grouping or range loads, its old rows are not shown under
  // the new heading.
  const data = loaded.data?.of === report ? loaded.data : null;
  // What the last export said, for the report it was made of (another grouping or range: nothing).
  const [exported, setExported] = useState<{ of: string; result: { cut: boolean } | Error } | null>(null);
  const lastExport = exported?.of === report ? exported.result : null;
  const group = GROUPS.find((g) => g.value === groupBy) ?? GROUPS[0];
  const rows = useMemo(() => {
    const all = data?.rows ?? [];
    return groupBy === 'day'
      ? [...all].sort((a, b) => a.group.localeCompare(b.group))
      : [...all].sort((a, b) => b.cost - a.cost);
  }, [data, groupBy]);
  const unsupported = data && !data.full && !FALLBACK_GROUPS.has(groupBy);
  const chart = useMemo(() => {
    if (groupBy === 'day') {
      // A bar per UTC day of the range, labelled with the day itself: the browser's time zone never moves
      // a bar to another date, and a day without spend is a visible gap.
      const byDay = new Map(rows.map((r) => [r.group, r.cost]));
      const first = data?.range?.start ?? rows[0]?.group ?? '';
      const last = data?.range?.end ?? rows.at(-1)?.group ?? '';
      const days = first && last ? daysBetween(first, last) : rows.map((r) => r.group);
      return {
        x: days.map((_, i) => i),
        labels: days,
        series: [
          {
            label: 'cost',
            color: '#0f766e',
            values: days.map((d) => byDay.get(d) ?? 0),
            format: usd,
            tick: usdTick,
            bars: true,
          },
        ],
      };
    }
    // The ten largest, with short labels (the table below has them all).
    const top = rows.slice(0, 10);
    return {
      x: top.map((_, i) => i),
      labels: top.map((r) => short(shown(r, groupBy))),
      series: [
        {
          label: 'cost',
          color: '#0f766e',
          values: top.map((r) => r.cost),
          format: usd,
          tick: usdTick,
          bars: true,
        },
      ],
    };
  }, [rows, groupBy, data]);
  const exportCsv = () => {
    if (!data) return;
    setExported(null);
    exportSpend(data, rows, groupBy, start, end).then(
      (result) => setExported({ of: report, result }),
      (err: unknown) =>
        setExported({ of: report, result: err instanceof Error ? err : new ApiError(String(err), 0, null) }),
    );
  };
  const unpricedTotal = data?.total.unpriced ?? 0;
  const showUnpriced = data?.full === true;
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
      {data && rows.length > 0 ? (
        <>
          <p class="total">
            Total: <strong data-testid="spend-total">{usd(data.total.cost)}</strong>,{' '}
            {count(data.total.requests)} requests
            {data.range ? ` from ${time(data.range.start)} to ${time(data.range.end)} (UTC)` : ''}
            {unpricedTotal > 0 ? (
              <>
                {' '}
                · <strong data-testid="spend-unpriced">{count(unpricedTotal)}</strong> without a known price
                (not in the cost)
              </>
            ) : null}
          </p>
          {data.hasMore ? (
            <p class="note" data-testid="spend-cut">
              Showing the top {count(data.limit)} {group.plural} by cost: more {group.plural} had spend in
              this range (the total includes them). <strong>Export CSV</strong> holds up to{' '}
              {count(EXPORT_LIMIT)}; a narrower range shows the rest.
            </p>
          ) : null}
          {groupBy === 'tag' ? (
            <p class="note" data-testid="spend-tag-note">
              A request with several tags counts under each of them, so the rows add up to more than was
              spent; untagged requests are in the total but in no row.
            </p>
          ) : null}
          {lastExport instanceof Error ? (
            <ErrorNote error={lastExport} />
          ) : lastExport?.cut ? (
            <p class="note" role="status" data-testid="spend-export-cut">
              The CSV file holds the top {count(EXPORT_LIMIT)} {group.plural} by cost only: more had spend.
              Export a narrower date range to get the rest.
            </p>
          ) : null}
          <Chart
            title={groupBy === 'day' ? 'Cost by day, UTC (USD)' : `Cost by ${groupBy}, top 10 (USD)`}
            x={chart.x}
            labels={chart.labels}
            xName={groupBy}
            series={chart.series}
          />
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Spend by {groupBy}</caption>
              <thead>
                <tr>
                  <th scope="col">{group.label}</th>
                  {NAMED.has(groupBy) ? <th scope="col">{group.label} id</th> : null}
                  <th scope="col" class="num">
                    Cost
                  </th>
                  <th scope="col" class="num">
                    Requests
                  </th>
                  {showUnpriced ? (
                    <th scope="col" class="num" title="Requests to a model without a price: not in the cost">
                      Unpriced
                    </th>
                  ) : null}
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
                    <td>{shown(r, groupBy)}</td>
                    {NAMED.has(groupBy) ? (
                      <td>
                        <code>{r.group}</code>
                      </td>
                    ) : null}
                    <td class="num">
                      {usd(r.cost)}
                      {r.unpriced ? (
                        <abbr
                          class="unpriced"
                          title={`${count(r.unpriced)} of these requests had no known price: not in the cost`}
                        >
                          {' '}
                          + unpriced
                        </abbr>
                      ) : null}
                    </td>
                    <td class="num">{count(r.requests)}</td>
                    {showUnpriced ? <td class="num">{count(r.unpriced)}</td> : null}
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
