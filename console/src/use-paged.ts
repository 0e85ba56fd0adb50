/** Loads a cursor-paginated admin list (`{data, next_cursor}`): the first page, then more on demand. */
import { useState } from 'preact/hooks';
import { api, type ListPage } from './api';
import { useLoad } from './use-load';

export function usePaged<T>(path: string, deps: unknown[]) {
  const [more, setMore] = useState<{ rows: T[]; cursor: string | null; error: unknown }>({
    rows: [],
    cursor: null,
    error: null,
  });
  const first = useLoad(async () => {
    const page = await api.get<ListPage<T>>(path);
    setMore({ rows: [], cursor: page.next_cursor ?? null, error: null });
    return page.data;
  }, deps);
  const loadMore = async () => {
    if (!more.cursor) return;
    try {
      const page = await api.get<ListPage<T>>(
        `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(more.cursor)}`,
      );
      setMore({ rows: [...more.rows, ...page.data], cursor: page.next_cursor ?? null, error: null });
    } catch (err) {
      setMore({ ...more, error: err });
    }
  };
  const rows = first.data ? [...first.data, ...more.rows] : null;
  return {
    rows,
    error: first.error ?? more.error,
    loading: first.loading,
    reload: first.reload,
    hasMore: more.cursor !== null,
    loadMore,
  };
}
