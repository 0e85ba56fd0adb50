/**
 * Cost reports over `usage_records` (admin API, DESIGN §8):
 *
 * - `GET /admin/costs/summary?user_id&start_date&end_date` — total cost, cost / requests / tokens by model,
 *   request count, token totals and cache savings.
 * - `GET /admin/costs/daily?user_id&start_date&end_date` — the same totals per UTC day, for charts.
 *
 * Dates are `YYYY-MM-DD` (a whole UTC day; `end_date` included) or ISO 8601 timestamps (`end_date`
 * exclusive). Default range: the last 30 days. Records still queued in memory or spooled are not counted
 * yet (`llm_usage_records_pending` says how many).
 */
import { sql } from 'kysely';
import { ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { AdminRoute } from '../core/feature.js';
import type { Database } from '../stores/database.js';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export interface ReportQuery {
  userId: string | null;
  start: Date;
  /** Exclusive. */
  end: Date;
}

/** Parses and checks the query string. @throws ValidationError (422) naming the bad parameter. */
const MAX_REPORT_MS = Date.UTC(10_000, 0, 1);

export function parseReportQuery(query: Record<string, unknown>, now: number): ReportQuery {
  const text = (name: string): string | null => {
    const value = query[name];
    if (value === undefined || value === '') return null;
    if (typeof value !== 'string') throw new ValidationError(`${name} must be given once.`, name);
    return value;
  };
  const date = (name: string, isEnd: boolean): Date | null => {
    const value = text(name);
    if (value === null) return null;
    const ms = DATE_ONLY.test(value)
      ? Date.parse(`${value}T00:00:00Z`) + (isEnd ? DAY_MS : 0)
      : DATE_TIME.test(value)
        ? Date.parse(value)
        : Number.NaN;
    // Date.parse accepts 2025-02-30; a round trip catches impossible days.
    const valid =
      !Number.isNaN(ms) &&
      (!DATE_ONLY.test(value) || new Date(ms - (isEnd ? DAY_MS : 0)).toISOString().startsWith(value));
    if (!valid) {
      throw new ValidationError(
        `${name} must be a date (YYYY-MM-DD) or an ISO 8601 timestamp (2025-02-18T09:30:00Z); got "${value}".`,
        name,
      );
    }
    // What both PostgreSQL and JavaScript hold (year 0000 is a database error, not a 5xx).
    if (ms < 0 || ms > MAX_REPORT_MS) {
      throw new ValidationError(`${name} must be between 1970-01-01 and 9999-12-31.`, name);
    }
    return new Date(ms);
  };
  const userId = text('user_id');
  if (userId !== null && userId.length > 256) throw new ValidationError('user_id is too long.', 'user_id');
  const end = date('end_date', true) ?? new Date(now);
  const start = date('start_date', false) ?? new Date(end.getTime() - 30 * DAY_MS);
  if (start.getTime() >= end.getTime()) {
    throw new ValidationError('end_date must be after start_date.', 'end_date');
  }
  return { userId, start, end };
}

/** NUMERIC sums come back as strings: a number with 6 decimals. */
function usd(value: unknown): number {
  const n = Number(value ?? 0);
  return Math.round(n * 1e6) / 1e6;
}

function filtered(database: Database, q: ReportQuery) {
  let query = database.db
    .selectFrom('usage_records')
    .where('timestamp', '>=', q.start)
    .where('timestamp', '<', q.end);
  if (q.userId !== null) query = query.where('user_id', '=', q.userId);
  return query;
}

const totals = {
  total_cost: sql<string>`coalesce(sum(cost_usd), 0)`.as('total_cost'),
  saved_cost: sql<string>`coalesce(sum(saved_usd), 0)`.as('saved_cost'),
  request_count: sql<number>`count(*)::int`.as('request_count'),
  cached_requests: sql<number>`count(*) filter (where cached)::int`.as('cached_requests'),
  unpriced_requests: sql<number>`count(*) filter (where cost_usd is null)::int`.as('unpriced_requests'),
  input_tokens: sql<string>`coalesce(sum(input_tokens), 0)::bigint`.as('input_tokens'),
  output_tokens: sql<string>`coalesce(sum(output_tokens), 0)::bigint`.as('output_tokens'),
};

/** The summary report. */
export async function costSummary(database: Database, q: ReportQuery) {
  const [all, byModel] = await Promise.all([
    filtered(database, q)
      .select([
        totals.total_cost,
        totals.saved_cost,
        totals.request_count,
        totals.cached_requests,
        totals.unpriced_requests,
        totals.input_tokens,
        totals.output_tokens,
      ])
      .executeTakeFirstOrThrow(),
    filtered(database, q)
      .select(['model', totals.total_cost, totals.request_count, totals.input_tokens, totals.output_tokens])
      .groupBy('model')
      .orderBy('total_cost', 'desc')
      .execute(),
  ]);
  const input = Number(all.input_tokens);
  const output = Number(all.output_tokens);
  return {
    user_id: q.userId,
    start_date: q.start.toISOString(),
    end_date: q.end.toISOString(),
    total_cost: usd(all.total_cost),
    request_count: all.request_count,
    cached_requests: all.cached_requests,
    unpriced_requests: all.unpriced_requests,
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    saved_cost: usd(all.saved_cost),
    cost_by_model: Object.fromEntries(
      byModel.map((m) => [
        m.model,
        {
          cost: usd(m.total_cost),
          requests: m.request_count,
          input_tokens: Number(m.input_tokens),
          output_tokens: Number(m.output_tokens),
          tokens: Number(m.input_tokens) + Number(m.output_tokens),
        },
      ]),
    ),
  };
}

/** Per-UTC-day totals, oldest first (days without traffic are omitted). */
export async function costDaily(database: Database, q: ReportQuery) {
  const day = sql<string>`to_char(timestamp at time zone 'UTC', 'YYYY-MM-DD')`;
  const rows = await filtered(database, q)
    .select([
      day.as('date'),
      totals.total_cost,
      totals.saved_cost,
      totals.request_count,
      totals.input_tokens,
      totals.output_tokens,
    ])
    .groupBy(day)
    .orderBy(day)
    .execute();
  return {
    user_id: q.userId,
    start_date: q.start.toISOString(),
    end_date: q.end.toISOString(),
    data: rows.map((r) => ({
      date: r.date,
      total_cost: usd(r.total_cost),
      request_count: r.request_count,
      input_tokens: Number(r.input_tokens),
      output_tokens: Number(r.output_tokens),
      saved_cost: usd(r.saved_cost),
    })),
  };
}

/** The usage database once it is open; a 503 while it is not (the reports' routes). */
export function readyDatabase(database: () => Database): () => Promise<Database> {
  return async () => {
    const opened = database();
    if (!opened.isReady()) {
      throw new ServiceUnavailableError('The usage database is not available yet; try again shortly.');
    }
    return opened;
  };
}

/** The report routes (under /admin: the admin key is required by the server). `now`: wall-clock ms. */
export function costRoutes(deps: { database: () => Database; now: () => number }): AdminRoute[] {
  const ready = readyDatabase(deps.database);
  const querystring = {
    type: 'object',
    properties: {
      user_id: { type: 'string', maxLength: 256 },
      start_date: { type: 'string', maxLength: 64 },
      end_date: { type: 'string', maxLength: 64 },
    },
  };
  return [
    {
      method: 'GET',
      url: '/admin/costs/summary',
      summary: 'Cost summary by model',
      querystring,
      async handler(request) {
        const q = parseReportQuery(request.query as Record<string, unknown>, deps.now());
        return costSummary(await ready(), q);
      },
    },
    {
      method: 'GET',
      url: '/admin/costs/daily',
      summary: 'Cost per UTC day',
      querystring,
      async handler(request) {
        const q = parseReportQuery(request.query as Record<string, unknown>, deps.now());
        return costDaily(await ready(), q);
      },
    },
  ];
}
