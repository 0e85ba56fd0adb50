/** Request log: the latest requests from the usage records, with filters and "load more" (cursor). */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, ms, time, usd } from '../format';

export interface LogRow {
  request_id: string;
  timestamp: string;
  status: string;
  http_status: number;
  route: string | null;
  model: string;
  provider: string | null;
  endpoint: string | null;
  user_id: string;
  latency_ms: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  cached: boolean;
  cache_type: string | null;
  stream: boolean;
}
interface Page {
  data: LogRow[];
  next_cursor: string | null;
}

const EMPTY_FILTERS = { status: '', model: '', provider: '', user_id: '', cached: '' };

export function Requests() {
  const [filters, setFilters] = useState(EMPTY_FILTERS);
  const [applied, setApplied] = useState(EMPTY_FILTERS);
  const [rows, setRows] = useState<LogRow[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const fetchPage = async (which: typeof EMPTY_FILTERS, after: string | null) => {
    setBusy(true);
    try {
      const page = await api.get<Page>(`/admin/requests${query({ ...which, limit: 50, cursor: after })}`);
      setRows((before) => (after && before ? [...before, ...page.data] : page.data));
      setCursor(page.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (rows === null && !busy && !error) void fetchPage(applied, null);

  const set = (name: keyof typeof EMPTY_FILTERS) => ({
    id: `filter-${name}`,
    value: filters[name],
    onInput: (e: Event) => setFilters({ ...filters, [name]: (e.target as HTMLInputElement).value }),
  });
  const apply = (event: Event) => {
    event.preventDefault();
    setApplied(filters);
    void fetchPage(filters, null);
  };
  return (
    <>
      <PageHeader title="Requests">
        <button type="button" onClick={() => fetchPage(applied, null)}>
          Refresh
        </button>
      </PageHeader>
      <form class="filters" onSubmit={apply} aria-label="Filters">
        <div>
          <label for="filter-status">Status</label>
          <select {...set('status')}>
            <option value="">any</option>
            <option value="success">success</option>
            <option value="error">error</option>
            <option value="incomplete">incomplete</option>
          </select>
        </div>
        <div>
          <label for="filter-model">Model</label>
          <input {...set('model')} placeholder="gpt-4o-mini" />
        </div>
        <div>
          <label for="filter-provider">Provider</label>
          <input {...set('provider')} placeholder="openai" />
        </div>
        <div>
          <label for="filter-user_id">User</label>
          <input {...set('user_id')} />
        </div>
        <div>
          <label for="filter-cached">Cache</label>
          <select {...set('cached')}>
            <option value="">any</option>
            <option value="true">cached</option>
            <option value="false">not cached</option>
          </select>
        </div>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={error} />
      {rows === null ? <Loading /> : null}
      {rows && rows.length === 0 ? (
        <Empty title="No requests recorded">
          <p>
            Every completion and embedding request is recorded here (with usage accounting on). Send one with
            a key from the <a href="/console/keys">Keys</a> page; it appears within a few seconds.
          </p>
        </Empty>
      ) : null}
      {rows && rows.length > 0 ? (
        <div class="table-wrap">
          <table class="log">
            <caption class="visually-hidden">Recent requests, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Status</th>
                <th scope="col">Route</th>
                <th scope="col">Model</th>
                <th scope="col">Provider</th>
                <th scope="col" class="num">
                  Latency
                </th>
                <th scope="col" class="num">
                  Tokens in / out
                </th>
                <th scope="col" class="num">
                  Cost
                </th>
                <th scope="col">Cache</th>
                <th scope="col">User</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.request_id} title={`request id ${r.request_id}`}>
                  <td>{time(r.timestamp)}</td>
                  <td>
                    <span class={`badge ${r.status}`}>{r.http_status}</span> {r.status}
                  </td>
                  <td class="clip" title={r.route ?? undefined}>
                    {r.route ?? '—'}
                  </td>
                  <td class="clip" title={r.model}>
                    {r.model}
                  </td>
                  <td>{r.provider ?? '—'}</td>
                  <td class="num">{ms(r.latency_ms)}</td>
                  <td class="num">
                    {count(r.input_tokens)} / {count(r.output_tokens)}
                  </td>
                  <td class="num">
                    {r.cost_usd === null ? (
                      <abbr
                        class="unpriced"
                        title="The model has no known price: this request's cost is not counted"
                      >
                        unpriced
                      </abbr>
                    ) : (
                      usd(r.cost_usd)
                    )}
                  </td>
                  <td>{r.cached ? (r.cache_type ?? 'hit') : '—'}</td>
                  <td>{r.user_id}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor ? (
        <button type="button" onClick={() => fetchPage(applied, cursor)} disabled={busy}>
          {busy ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </>
  );
}
