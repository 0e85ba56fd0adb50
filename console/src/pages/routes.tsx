/** Routes: each alias's deployments with their circuit breaker state and latency estimates. */
import { api } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { count, ms, percent } from '../format';
import { useLoad } from '../use-load';

interface Deployment {
  id: string;
  provider: string;
  model: string;
  state: 'closed' | 'open' | 'half_open' | string;
  error_rate: number;
  requests_in_window: number;
  consecutive_failures: number;
  retry_in_ms: number | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  samples: number;
  priority?: number;
  weight?: number;
}
interface RoutesView {
  routes: Array<{ name: string; strategy: string; deployments: Deployment[] }>;
  deployments: Deployment[];
}

export function Routes() {
  const { data, error, loading, reload } = useLoad(() => api.get<RoutesView>('/admin/routes'), []);
  return (
    <>
      <PageHeader title="Routes">
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={error} />
      {loading && !data ? <Loading /> : null}
      {data && data.routes.length === 0 ? (
        <Empty title="No routes configured">
          <p>
            Routes (aliases) spread a model name over several deployments with fallback. Add a{' '}
            <code>routes:</code> section to the config file (see docs/routing.md). Plain model names still
            work without one.
          </p>
        </Empty>
      ) : null}
      {data?.routes.map((route) => (
        <section key={route.name} class="route" aria-labelledby={`route-${route.name}`}>
          <h2 id={`route-${route.name}`}>
            {route.name} <span class="muted">· {route.strategy}</span>
          </h2>
          <DeploymentTable rows={route.deployments} caption={`Deployments of ${route.name}`} />
        </section>
      ))}
      {data && data.deployments.length > 0 ? (
        <section aria-labelledby="all-deployments">
          <h2 id="all-deployments">Every deployment with a breaker</h2>
          <DeploymentTable rows={data.deployments} caption="Every deployment with a breaker" />
        </section>
      ) : null}
    </>
  );
}

function DeploymentTable({ rows, caption }: { rows: Deployment[]; caption: string }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Breaker</th>
            <th scope="col" class="num">
              Error rate
            </th>
            <th scope="col" class="num">
              Requests (window)
            </th>
            <th scope="col" class="num">
              Latency
            </th>
            <th scope="col" class="num">
              Time to first token
            </th>
            <th scope="col" class="num">
              Samples
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id}>
              <td>{d.id}</td>
              <td>
                <span class={`badge breaker-${d.state}`}>{d.state.replace('_', ' ')}</span>
                {d.retry_in_ms !== null ? <span class="muted"> retry in {ms(d.retry_in_ms)}</span> : null}
              </td>
              <td class="num">{percent(d.error_rate, 1)}</td>
              <td class="num">{count(d.requests_in_window)}</td>
              <td class="num">{ms(d.latency_ms)}</td>
              <td class="num">{ms(d.ttft_ms)}</td>
              <td class="num">{count(d.samples)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
