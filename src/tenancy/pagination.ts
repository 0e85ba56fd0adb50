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

/**
 * The `limit` query parameter of a list, 1 to `max`, read by `limitOf`. The schema takes any text: a
 * `pattern` would answer with its regular expression ("limit must match pattern …"); `limitOf` answers
 * with the range, as README "Secure defaults" promises (audit G, F9).
 */
export function limitParam(max: number, fallback: number) {
  return T.Optional(T.String({ description: `an integer from 1 to ${max} (default ${fallback})` }));
}

/**
 * The number of rows a list request asks for: `fallback` when absent.
 * @throws ValidationError (422, param `limit`) "limit must be an integer from 1 to N."
 */
export function limitOf(text: string | undefined, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  const n = /^[0-9]{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= max)) throw new ValidationError(`limit must be an integer from 1 to ${max}.`, 'limit');
  return n;
}

/** Query parameters every list takes. */
export const PageParams = {
  limit: limitParam(MAX_PAGE, DEFAULT_PAGE),
  cursor: T.Optional(
    T.String({ minLength: 1, maxLength: 200, description: 'next_cursor of the page before' }),
  ),
};

export interface PageRequest {
  limit: number;
  /** The decoded position (a row id) after which the page starts; null = first page. */
  after: string | null;
}

/** The page a list request asks for. @throws ValidationError (422, param `limit` or `cursor`). */
export function pageOf(query: { limit?: string; cursor?: string }): PageRequest {
  const limit = limitOf(query.limit, MAX_PAGE, DEFAULT_PAGE);
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

/**
 * The position of a list ordered by a time column, newest first, whose ties are broken by a serial id that
 * is never shown (the audit log): the last row's millisecond and how many rows of that millisecond the pages
 * so far showed. Not the serial id: every tenant's rows share that sequence, so a cursor naming it told an
 * org or team admin how many entries other tenants made between two of its own (decision 0211).
 */
export interface TimeCursor {
  ms: number;
  skip: number;
}

/** The time cursor of a page request (null: the first page). @throws ValidationError (422, `cursor`) */
export function timeCursorOf(page: PageRequest): TimeCursor | null {
  if (page.after === null) return null;
  const match = /^(\d{1,15})\.(\d{1,6})$/.exec(page.after);
  if (!match) throw new ValidationError('cursor is not a next_cursor this API returned.', 'cursor');
  return { ms: Number(match[1]), skip: Number(match[2]) };
}

/**
 * A page from rows fetched newest first with `time < cursor.ms + 1` and `limit: page.limit + 1 +
 * cursor.skip`: the first `skip` rows (of the cursor's millisecond) were shown already.
 */
export function toTimePage<R, V>(
  fetched: readonly R[],
  page: PageRequest,
  cursor: TimeCursor | null,
  msOf: (row: R) => number,
  view: (row: R) => V,
): Page<V> {
  const rows = cursor ? fetched.slice(cursor.skip) : fetched;
  const shown = rows.slice(0, page.limit);
  const last = shown[shown.length - 1];
  if (rows.length <= page.limit || last === undefined) return { data: shown.map(view), next_cursor: null };
  const ms = msOf(last);
  let skip = cursor?.ms === ms ? cursor.skip : 0;
  for (const row of shown) if (msOf(row) === ms) skip++;
  return { data: shown.map(view), next_cursor: Buffer.from(`${ms}.${skip}`).toString('base64url') };
}
