/** Overview: traffic, errors, latency p50/p95, spend today and cache savings, with charts of the last hours. */
import { useMemo, useState } from 'preact/hooks';
import { api } from '../api';
import { Chart } from '../components/chart';
import { Empty, ErrorNote, Loading, PageHeader, Stat } from '../components/ui';
import { count, ms, percent, usd, usdTick } from '../format';
import { useLoad } from '../use-load';

export interface Bucket {
  start: string;
  requests: number;
  errors: number;
  cached: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  cost_usd: number;
  saved_usd: number;
}
export interface Stats {
  bucket_seconds: number;
  totals: Omit<Bucket, 'start'>;
  today: { date: string; requests: number; cost_usd: number; saved_usd: number };
  buckets: Bucket[];
}

const WINDOWS = [1, 6, 24, 168];

export function Overview() {
  const [hours, setHours] = useState(1);
  const { data, error, loading, reload } = useLoad(
    () => api.get<Stats>(`/admin/stats?hours=${hours}`),
    [hours],
  );
  const x = useMemo(() => data?.buckets.map((b) => Date.parse(b.start) / 1000) ?? [], [data]);
  const charts = useMemo(() => {
    const b = data?.buckets ?? [];
    return {
      traffic: [
        { label: 'requests', color: '#2563eb', values: b.map((v) => v.requests) },
        { label: 'errors', color: '#dc2626', values: b.map((v) => v.errors) },
        { label: 'cached', color: '#16a34a', values: b.map((v) => v.cached) },
      ],
      latency: [
        { label: 'p50', color: '#7c3aed', values: b.map((v) => v.latency_p50_ms), format: ms },
        { label: 'p95', color: '#ea580c', values: b.map((v) => v.latency_p95_ms), format: ms },
      ],
      cost: [
        { label: 'cost', color: '#0f766e', values: b.map((v) => v.cost_usd), format: usd, tick: usdTick },
        { label: 'saved by cache', color: '#65a30d', values: b.map((v) => v.saved_usd), format: usd },
      ],
    };
  }, [data]);
  return (
    <>
      <PageHeader title="Overview">
        <label for="window">Window</label>
        <select
          id="window"
          value={hours}
          onChange={(e) => setHours(Number((e.target as HTMLSelectElement).value))}
        >
          {WINDOWS.map((h) => (
            <option key={h} value={h}>
              last {h < 24 ? `${h} h` : `${h / 24} d`}
            </option>
          ))}
        </select>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={error} />
      {loading && !data ? <Loading /> : null}
      {data ? (
        <>
          <section class="stats" aria-label="Totals">
            <Stat label="Requests" value={count(data.totals.requests)} hint={`last ${hours} h`} />
            <Stat
              label="Errors"
              value={count(data.totals.errors)}
              hint={percent(data.totals.errors, data.totals.requests)}
            />
            <Stat label="Latency p50" value={ms(data.totals.latency_p50_ms)} />
            <Stat label="Latency p95" value={ms(data.totals.latency_p95_ms)} />
            <Stat label="Spend today" value={usd(data.today.cost_usd)} hint={`${data.today.date} (UTC)`} />
            <Stat
              label="Cache savings"
              value={usd(data.totals.saved_usd)}
              hint={`${count(data.totals.cached)} cached answers`}
            />
          </section>
          {data.totals.requests === 0 ? (
            <Empty title="No traffic yet">
              <p>
                Nothing went through the gateway in the last {hours} h. Create a key on the{' '}
                <a href="/console/keys">Keys</a> page and send a request:
              </p>
              <pre>
                {`curl ${location.origin}/v1/chat/completions \\
  -H "Authorization: Bearer $GATEWAY_KEY" -H "Content-Type: application/json" \\
  -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`}
              </pre>
              <p>Usage records are written in batches: a request shows up here within a few seconds.</p>
            </Empty>
          ) : (
            <div class="charts">
              <Chart title="Requests, errors and cached answers" x={x} series={charts.traffic} />
              <Chart title="Latency (ms)" x={x} series={charts.latency} />
              <Chart title="Cost and cache savings (USD)" x={x} series={charts.cost} />
            </div>
          )}
        </>
      ) : null}
    </>
  );
}
