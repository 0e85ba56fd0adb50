/**
 * The request log (admin API, DESIGN §18): `GET /admin/requests` — the latest usage records, newest first,
 * with filters and cursor pagination (`next_cursor`, opaque: the last row's timestamp and request id). Bodies
 * are not stored with usage records; with body logging on they are in the logs, under the same request id.
 *
 * Rows are ordered by timestamp, then by request id (a UUIDv7 the row shows anyway), not by the table's
 * serial id: that sequence is shared by every tenant, so a cursor naming it told an org or team admin how
 * many requests other tenants made between two of its own (decision 0211).
 */
import { Type as T } from '@sinclair/typebox';
import { sql } from 'kysely';
import { ValidationError } from '../core/errors.js';
import type { AdminActor, AdminRoute } from '../core/feature.js';
import type { Database } from '../stores/database.js';
import { limitOf, limitParam } from '../tenancy/pagination.js';
import { parseReportQuery } from './reports.js';
import { checkKeyInScope } from './spend.js';
import { usageScope } from './tenant-scope.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const MAX_CURSOR_MS = Date.UTC(10_000, 0, 1);

export const RequestLogQuery = T.Object(
  {
    limit: limitParam(MAX_LIMIT, DEFAULT_LIMIT),
    cursor: T.Optional(T.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
    status: T.Optional(T.Union([T.Literal('success'), T.Literal('error'), T.Literal('incomplete')])),
    model: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
    provider: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
    user_id: T.Optional(T.String({ minLength: 1, maxLength: 256 })),
    api_key_id: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
    cached: T.Optional(T.Union([T.Literal('true'), T.Literal('false')])),
    start_date: T.Optional(T.String({ maxLength: 64 })),
    end_date: T.Optional(T.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
type Query = typeof RequestLogQuery.static;

interface Cursor {
  timestamp: Date;
  /** The row's request id; '' for a row written before request ids (migration 0003). */
  requestId: string;
}

/** The cursor after a row: base64url of `<ISO timestamp>|<request id>`. */
export function encodeCursor(timestamp: Date, requestId: string | null): string {
  return Buffer.from(`${timestamp.toISOString()}|${requestId ?? ''}`).toString('base64url');
}

/** @throws ValidationError (422, `cursor`) for anything `encodeCursor` did not make. */
export function decodeCursor(text: string): Cursor {
  const [iso, id, extra] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const ms = Date.parse(iso ?? '');
  // Outside 1970–9999 (year 0000 …) the database refuses the timestamp: a 422, not a 5xx.
  const held = ms >= 0 && ms < MAX_CURSOR_MS;
  if (id === undefined || extra !== undefined || !/^[\w-]{0,64}$/.test(id) || !held || !iso?.endsWith('Z')) {
    throw new ValidationError('cursor is not a next_cursor this endpoint returned.', 'cursor');
  }
  return { timestamp: new Date(ms), requestId: id };
}

function usd(value: string | null): number | null {
  return value === null ? null : Math.round(Number(value) * 1e6) / 1e6;
}

/** One page of the request log for `actor`. `now`: wall-clock ms (the default range ends there). */
export async function requestLog(database: Database, actor: AdminActor, q: Query, now: number) {
  const limit = limitOf(q.limit, MAX_LIMIT, DEFAULT_LIMIT);
  const range = q.start_date || q.end_date ? parseReportQuery(q, now) : null;
  const cursor = q.cursor === undefined ? null : decodeCursor(q.cursor);
  if (q.api_key_id) await checkKeyInScope(database.db, q.api_key_id, actor, 'api_key_id');
  let query = database.db.selectFrom('usage_records').where(usageScope(actor));
  if (range) query = query.where('timestamp', '>=', range.start).where('timestamp', '<', range.end);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.model) query = query.where('model', '=', q.model);
  if (q.provider) query = query.where('provider', '=', q.provider);
  if (q.user_id) query = query.where('user_id', '=', q.user_id);
  if (q.api_key_id) query = query.where('api_key_id', '=', q.api_key_id);
  if (q.cached) query = query.where('cached', '=', q.cached === 'true');
  const requestId = sql<string>`coalesce(request_id, '')`;
  if (cursor) {
    const c = cursor;
    query = query.where((eb) =>
      eb.or([
        eb('timestamp', '<', c.timestamp),
        eb.and([eb('timestamp', '=', c.timestamp), eb(requestId, '<', c.requestId)]),
      ]),
    );
  }
  const rows = await query
    .selectAll()
    .orderBy('timestamp', 'desc')
    .orderBy(requestId, 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    object: 'list',
    data: page.map((r) => ({
      request_id: r.request_id,
      timestamp: new Date(r.timestamp).toISOString(),
      status: r.status,
      http_status: r.http_status,
      route: r.route ?? null,
      model: r.model,
      provider: r.provider,
      endpoint: r.endpoint,
      user_id: r.user_id,
      api_key_id: r.api_key_id,
      latency_ms: r.latency_ms,
      input_tokens: r.input_tokens,
      output_tokens: r.output_tokens,
      cost_usd: usd(r.cost_usd),
      estimated: r.estimated,
      cached: r.cached,
      cache_type: r.cache_type,
      saved_usd: usd(r.saved_usd) ?? 0,
      stream: r.stream,
      client_request_id: r.client_request_id,
    })),
    next_cursor: rows.length > limit && last ? encodeCursor(new Date(last.timestamp), last.request_id) : null,
  };
}

/** `GET /admin/requests` (org and team admins: their own records only). */
export function requestLogRoute(deps: { ready: () => Promise<Database>; now: () => number }): AdminRoute {
  return {
    method: 'GET',
    url: '/admin/requests',
    summary: 'Request log: the latest usage records, newest first (cursor pagination)',
    access: 'tenant',
    querystring: RequestLogQuery,
    async handler(request) {
      return requestLog(await deps.ready(), request.actor, request.query as Query, deps.now());
    },
  };
}
