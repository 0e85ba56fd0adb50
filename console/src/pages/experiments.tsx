/**
 * Experiments: the list, start and stop, and the report — per variant: requests, feedback means with 95 %
 * intervals, probability of being best, cost per request, latency p50/p95, error rate (global admin).
 */
import { useState } from 'preact/hooks';
import { api, type ListPage } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, ms, usd } from '../format';
import { useLoad } from '../use-load';

interface Variant {
  name: string;
  weight: number;
  prompt?: { id: string; version?: number; label?: string };
  model?: string;
}

interface Experiment {
  id: string;
  status: 'running' | 'draft' | 'stopped';
  variants: Variant[];
  sticky_by: string;
  holdout: number;
  prompt_id: string | null;
  label: string | null;
}

interface MetricReport {
  n: number;
  mean: number | null;
  ci95: [number, number] | null;
  probability_best: number | null;
}

interface Report {
  experiment: Experiment;
  variants: {
    name: string;
    requests: number;
    error_rate: number | null;
    cost_per_request_usd: number | null;
    latency_ms: { p50: number | null; p95: number | null };
    feedback: Record<string, MetricReport>;
  }[];
  metrics: Record<string, { type: string; direction: string; best: string | null }>;
}

const serves = (v: Variant) =>
  [
    v.prompt
      ? `${v.prompt.id}${v.prompt.version ? ` v${v.prompt.version}` : v.prompt.label ? `@${v.prompt.label}` : ''}`
      : null,
    v.model ?? null,
  ]
    .filter(Boolean)
    .join(' · ');

const fixed = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? '—' : v.toFixed(digits);

export function Experiments() {
  const [shown, setShown] = useState<string | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const list = useLoad(() => api.get<ListPage<Experiment>>('/admin/experiments'), []);
  const experiments = list.data?.data ?? [];
  const setStatus = async (e: Experiment, action: 'start' | 'stop') => {
    try {
      await api.post(`/admin/experiments/${e.id}/${action}`, {});
      setActionError(null);
    } catch (err) {
      setActionError(err);
    }
    await list.reload();
  };
  return (
    <>
      <PageHeader title="Experiments">
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={list.error ?? actionError} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && experiments.length === 0 ? (
        <Empty title="No experiments yet">
          <p>
            Create one with <code>POST /admin/experiments</code> (variants serving prompt versions or models,
            attached to a prompt label); requests naming that label are split between the variants, and
            applications report outcomes with <code>POST /v1/feedback</code>. See docs/prompts.md.
          </p>
        </Empty>
      ) : null}
      {experiments.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Experiments</caption>
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Status</th>
                <th scope="col">Attached to</th>
                <th scope="col">Variants</th>
                <th scope="col">Holdout</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {experiments.map((e) => (
                <tr key={e.id}>
                  <td>
                    <code>{e.id}</code>
                  </td>
                  <td>
                    <span class={`badge ${e.status === 'running' ? 'success' : ''}`}>{e.status}</span>
                  </td>
                  <td>{e.prompt_id ? `${e.prompt_id}@${e.label}` : '—'}</td>
                  <td class="clip">
                    {e.variants.map((v) => `${v.name} (${serves(v)}, ${v.weight})`).join('; ')}
                  </td>
                  <td class="num">{Math.round(e.holdout * 100)} %</td>
                  <td class="row-actions">
                    {e.status === 'running' ? (
                      <button type="button" onClick={() => setStatus(e, 'stop')} aria-label={`Stop ${e.id}`}>
                        Stop
                      </button>
                    ) : (
                      <button
                        type="button"
                        onClick={() => setStatus(e, 'start')}
                        aria-label={`Start ${e.id}`}
                      >
                        Start
                      </button>
                    )}
                    <button type="button" onClick={() => setShown(e.id)} aria-label={`Report of ${e.id}`}>
                      Report
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {shown ? <ExperimentReport key={shown} id={shown} /> : null}
    </>
  );
}

function ExperimentReport({ id }: { id: string }) {
  const report = useLoad(() => api.get<Report>(`/admin/experiments/${id}/report`), [id]);
  const data = report.data;
  const metrics = data ? Object.keys(data.metrics) : [];
  return (
    <section aria-labelledby="report-title">
      <h2 id="report-title">
        Report of <code>{id}</code>{' '}
        <button type="button" onClick={report.reload}>
          Refresh report
        </button>
      </h2>
      <ErrorNote error={report.error} />
      {report.loading && !data ? <Loading /> : null}
      {data ? (
        <>
          {metrics.map((m) => (
            <p key={m}>
              <strong>{m}</strong> ({data.metrics[m]?.type}, {data.metrics[m]?.direction} is better): best{' '}
              {data.metrics[m]?.best ?? 'not decided yet (no variant is clearly ahead)'}
            </p>
          ))}
          {metrics.length === 0 ? (
            <p class="note">
              No feedback metric is declared (<code>feedback.metrics</code> in the configuration), so the
              report has traffic, cost and latency only.
            </p>
          ) : null}
          <div class="table-wrap">
            <table>
              <caption class="visually-hidden">Variants of {id}</caption>
              <thead>
                <tr>
                  <th scope="col">Variant</th>
                  <th scope="col">Requests</th>
                  {metrics.flatMap((m) => [
                    <th scope="col" key={`${m}-mean`}>
                      {m} mean (95 % CI)
                    </th>,
                    <th scope="col" key={`${m}-best`}>
                      {m} P(best)
                    </th>,
                  ])}
                  <th scope="col">Cost / request</th>
                  <th scope="col">Latency p50</th>
                  <th scope="col">Latency p95</th>
                  <th scope="col">Error rate</th>
                </tr>
              </thead>
              <tbody>
                {data.variants.map((v) => (
                  <tr key={v.name}>
                    <td>{v.name}</td>
                    <td class="num">{count(v.requests)}</td>
                    {metrics.flatMap((m) => {
                      const f = v.feedback[m];
                      return [
                        <td class="num" key={`${m}-mean`}>
                          {fixed(f?.mean)}
                          {f?.ci95 ? ` [${fixed(f.ci95[0])}, ${fixed(f.ci95[1])}]` : ''} (n={f?.n ?? 0})
                        </td>,
                        <td class="num" key={`${m}-best`}>
                          {f?.probability_best === null || f?.probability_best === undefined
                            ? '—'
                            : `${(f.probability_best * 100).toFixed(1)} %`}
                        </td>,
                      ];
                    })}
                    <td class="num">{v.cost_per_request_usd === null ? '—' : usd(v.cost_per_request_usd)}</td>
                    <td class="num">{ms(v.latency_ms.p50)}</td>
                    <td class="num">{ms(v.latency_ms.p95)}</td>
                    <td class="num">
                      {v.error_rate === null ? '—' : `${(v.error_rate * 100).toFixed(1)} %`}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
    </section>
  );
}
