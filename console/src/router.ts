/** A tiny history router for the pages under /console/ (the gateway serves index.html for all of them). */
import { useEffect, useState } from 'preact/hooks';

export const BASE = '/console/';

/** The page path under /console/ (`''` is the overview). */
export function currentPage(): string {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '';
  return path.replace(/\/+$/, '');
}

export function navigate(page: string): void {
  history.pushState(null, '', `${BASE}${page}`);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePage(): string {
  const [page, setPage] = useState(currentPage());
  useEffect(() => {
    const update = () => setPage(currentPage());
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return page;
}
