/**
 * Cursor pagination of the admin lists (`{"data": [...], "next_cursor": …}`): a page holds up to `limit`
 * rows (default 100, at most 1000); `next_cursor` is an opaque token naming the last row of the page
 * (null on the last page), passed back as `?cursor=` for the next one. Rows are in a stable order
 * (newest first, ties by id), so a row added meanwhile never shifts a page.
 */
import { Type as T } from '@sinclair/typebox';
import { ValidationError } from '../core/errors.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** Query parameters every list takes. */
export const PageParams = {
  limit: T.Optional(T.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1–1000, default 100' })),
  cursor: T.Optional(
    T.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the page before' }),
  ),
};

export interface PageRequest {
  limit: number;
  /** The decoded position (a row id) after which the page starts; null = first page. */
  after: string | null;
}

/** The page a list request asks for. @throws ValidationError (422, param `cursor`) on a bad cursor. */
export function pageOf(query: { limit?: string; cursor?: string }): PageRequest {
  const limit = query.limit === undefined ? DEFAULT_PAGE : Math.min(MAX_PAGE, Number(query.limit));
  if (query.cursor === undefined) return { limit, after: null };
  const after = Buffer.from(query.cursor, 'base64url').toString('utf8');
  if (!/^[\w.:@+-]{1,128}$/.test(after)) {
    throw new ValidationError('cursor is not a next_cursor this API returned.', 'cursor');
  }
  return { limit, after };
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** A page from `limit + 1` fetched rows: the extra row only tells that there is a next page. */
export function toPage<R, V>(
  rows: readonly R[],
  page: PageRequest,
  idOf: (row: R) => string,
  view: (row: R) => V,
): Page<V> {
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  return {
    data: shown.map(view),
    next_cursor:
      rows.length > page.limit && last !== undefined ? Buffer.from(idOf(last)).toString('base64url') : null,
  };
}
