/** Cache: size and hit rates by layer, and a button to clear it (all, or one model's answers). */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { Empty, ErrorNote, Loading, PageHeader, Stat } from '../components/ui';
import { count, percent } from '../format';
import { useLoad } from '../use-load';

interface CacheStats {
  enabled: boolean;
  backend: string | null;
  entries: number;
  bytes: number;
  since?: string;
  lookups?: number;
  hits?: { exact: number; semantic: number; total: number };
  misses?: number;
  coalesced?: number;
  semantic?: { enabled: boolean; embedder: string | null; threshold: number | null };
}

export function Cache() {
  const { data, error, loading, reload } = useLoad(() => api.get<CacheStats>('/admin/cache/stats'), []);
  const [model, setModel] = useState('');
  const [result, setResult] = useState<string | null>(null);
  const [clearError, setClearError] = useState<unknown>(null);
  const clear = async (event: Event) => {
    event.preventDefault();
    const what = model.trim() ? `the cached answers of ${model.trim()}` : 'every cached answer';
    if (!confirm(`Delete ${what}?`)) return;
    try {
      const done = await api.delete<{ deleted: number }>(`/admin/cache${query({ model: model.trim() })}`);
      setResult(`Deleted ${count(done.deleted)} entries.`);
      setClearError(null);
    } catch (err) {
      setClearError(err);
    }
    await reload();
  };
  return (
    <>
      <PageHeader title="Cache">
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </PageHeader>
      <ErrorNote error={error} />
      {loading && !data ? <Loading /> : null}
      {data && !data.enabled ? (
        <Empty title="The response cache is off">
          <p>
            Turn it on with <code>CACHE_ENABLED=true</code> (or <code>cache.enabled: true</code> in the config
            file): identical requests are then answered from the cache, free and at once.
          </p>
        </Empty>
      ) : null}
      {data?.enabled ? (
        <>
          <section class="stats" aria-label="Cache statistics">
            <Stat label="Entries" value={count(data.entries)} hint={data.backend ?? ''} />
            <Stat label="Size" value={`${(data.bytes / 1024).toFixed(1)} KiB`} />
            <Stat
              label="Hit rate"
              value={percent(data.hits?.total ?? 0, data.lookups ?? 0)}
              hint={`${count(data.lookups)} lookups`}
            />
            <Stat label="Exact hits" value={count(data.hits?.exact)} />
            <Stat
              label="Semantic hits"
              value={count(data.hits?.semantic)}
              hint={data.semantic?.enabled ? (data.semantic.embedder ?? '') : 'semantic cache off'}
            />
            <Stat label="Joined in flight" value={count(data.coalesced)} />
          </section>
          {data.since ? <p class="muted">Counters of this instance since {data.since}.</p> : null}
          <form class="inline-form" onSubmit={clear} aria-labelledby="clear-title">
            <h2 id="clear-title">Clear the cache</h2>
            <label for="clear-model">Only this model (leave empty for all)</label>
            <input
              id="clear-model"
              value={model}
              onInput={(e) => setModel((e.target as HTMLInputElement).value)}
            />
            <button type="submit" class="danger">
              Clear cache
            </button>
            {result ? <p role="status">{result}</p> : null}
            <ErrorNote error={clearError} />
          </form>
        </>
      ) : null}
    </>
  );
}
