/**
 * Evaluations: the stored evaluation runs (`llm-gateway eval run --admin-key` writes them) and one run's
 * report — per target × metric: mean with its 95 % interval, p50/p95, n — with its results as JSONL.
 */
import { useState } from 'preact/hooks';
import { api, type ListPage } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, ms, time, usd } from '../format';
import { useLoad } from '../use-load';

interface EvalRun {
  id: string;
  name: string | null;
  created_at: string;
  finished_at: string | null;
  status: string;
  dataset: string;
  item_count: number;
  targets: string[];
  judge: string | null;
}

interface TargetSummary {
  target: string;
  items: number;
  errors: number;
  cost_usd: number;
  judge_cost_usd: number;
  ttft_p50_ms: number | null;
  metrics: {
    metric: string;
    n: number;
    unscored: number;
    mean: number;
    ci: [number, number];
    p50: number;
    p95: number;
  }[];
}

const num = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

export function Evals() {
  const [shown, setShown] = useState<string | null>(null);
  const list = useLoad(() => api.get<ListPage<EvalRun>>('/admin/evals/runs?limit=100'), []);
  const runs = list.data?.data ?? [];
  return (
    <>
      <PageHeader title="Evaluations">
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && runs.length === 0 ? (
        <Empty title="No evaluation runs yet">
          <p>
            Run one against this gateway and store it here:{' '}
            <code>llm-gateway eval run --dataset qa.jsonl --target gpt-4o-mini --admin-key $ADMIN_KEY</code>{' '}
            (see docs/evaluation.md).
          </p>
        </Empty>
      ) : null}
      {runs.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Evaluation runs</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Dataset</th>
                <th scope="col">Items</th>
                <th scope="col">Targets</th>
                <th scope="col">Judge</th>
                <th scope="col">Started</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id}>
                  <td>
                    <code>{r.id}</code> {r.name ?? ''}
                  </td>
                  <td>
                    <span
                      class={`badge ${r.status === 'finished' ? 'success' : r.status === 'failed' ? 'error' : ''}`}
                    >
                      {r.status}
                    </span>
                  </td>
                  <td class="clip">{r.dataset}</td>
                  <td class="num">{count(r.item_count)}</td>
                  <td class="clip">{r.targets.join(', ')}</td>
                  <td>{r.judge ?? '—'}</td>
                  <td>{time(r.created_at)}</td>
                  <td>
                    <button type="button" onClick={() => setShown(r.id)} aria-label={`Report of ${r.id}`}>
                      Report
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {shown ? <RunReport key={shown} id={shown} /> : null}
    </>
  );
}

function RunReport({ id }: { id: string }) {
  const report = useLoad(
    () => api.get<{ run: EvalRun; targets: TargetSummary[] }>(`/admin/evals/runs/${id}/report`),
    [id],
  );
  const [error, setError] = useState<unknown>(null);
  const download = async () => {
    try {
      const results = await api.get<ListPage<unknown>>(`/admin/evals/runs/${id}/results`);
      const link = document.createElement('a');
      const text = results.data.map((r) => JSON.stringify(r)).join('\n');
      link.href = URL.createObjectURL(new Blob([text ? `${text}\n` : ''], { type: 'application/x-ndjson' }));
      link.download = `${id}-results.jsonl`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (err) {
      setError(err);
    }
  };
  const targets = report.data?.targets ?? [];
  return (
    <section aria-labelledby="run-title">
      <h2 id="run-title">
        Run <code>{id}</code>{' '}
        <button type="button" onClick={download}>
          Download results (JSONL)
        </button>
      </h2>
      <ErrorNote error={report.error ?? error} />
      {report.loading && !report.data ? <Loading /> : null}
      {report.data ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Report of {id}</caption>
            <thead>
              <tr>
                <th scope="col">Target</th>
                <th scope="col">Metric</th>
                <th scope="col">Mean (95 % CI)</th>
                <th scope="col">p50</th>
                <th scope="col">p95</th>
                <th scope="col">Scored</th>
                <th scope="col">Items / errors</th>
                <th scope="col">Cost</th>
                <th scope="col">TTFT p50</th>
              </tr>
            </thead>
            <tbody>
              {targets.flatMap((t) =>
                (t.metrics.length > 0 ? t.metrics : [null]).map((m, i) => (
                  <tr key={`${t.target}-${m?.metric ?? 'none'}`}>
                    <td>{i === 0 ? t.target : ''}</td>
                    <td>{m?.metric ?? 'no scores'}</td>
                    <td class="num">{m ? `${num(m.mean)} [${num(m.ci[0])}, ${num(m.ci[1])}]` : '—'}</td>
                    <td class="num">{m ? num(m.p50) : '—'}</td>
                    <td class="num">{m ? num(m.p95) : '—'}</td>
                    <td class="num">{m ? `${m.n}${m.unscored ? ` (+${m.unscored} unscored)` : ''}` : '—'}</td>
                    <td class="num">{i === 0 ? `${t.items} / ${t.errors}` : ''}</td>
                    <td class="num">{i === 0 ? usd(t.cost_usd + t.judge_cost_usd) : ''}</td>
                    <td class="num">{i === 0 ? ms(t.ttft_p50_ms) : ''}</td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
