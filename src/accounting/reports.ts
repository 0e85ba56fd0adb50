/**
 * Cost reports over `usage_records` (admin API, DESIGN §8):
 *
 * - `GET /admin/costs/summary?user_id&start_date&end_date` — total cost, cost / requests / tokens by model,
 *   request count, token totals and cache savings.
 * - `GET /admin/costs/daily?user_id&start_date&end_date` — the same totals per UTC day, for charts.
 *
 * Dates are `YYYY-MM-DD` (a whole UTC day; `end_date` included) or ISO 8601 timestamps (`end_date`
 * exclusive). Default range: the last 30 days. Records still queued in memory or spooled are not counted
 * yet (`llm_usage_records_pending` says how many). Whole UTC days are read from the daily rollups, the
 * partial days at the edges of a range from the records (decision 0107), so months answer fast.
 */
import { sql } from 'kysely';
import { ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { AdminActor, AdminRoute } from '../core/feature.js';
import type { Database } from '../stores/database.js';
import { MAX_LIMIT, querySpend } from './spend.js';

const DAY_MS = 86_400_000;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export interface ReportQuery {
  userId: string | null;
  /** The caller's subtree (an org or team admin's: DESIGN §7); absent = every record. */
  orgId?: string | null;
  teamId?: string | null;
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

function filtered(database: Database, q: ReportQuery, start: Date, end: Date) {
  let query = database.db
    .selectFrom('usage_records')
    .where('timestamp', '>=', start)
    .where('timestamp', '<', end);
  if (q.userId !== null) query = query.where('user_id', '=', q.userId);
  if (q.orgId != null) query = query.where('org_id', '=', q.orgId);
  if (q.teamId != null) query = query.where('team_id', '=', q.teamId);
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

interface Totals {
  cost: number;
  saved: number;
  requests: number;
  cached: number;
  unpriced: number;
  input: number;
  output: number;
}

type Grouping = 'all' | 'model' | 'day';

function add(into: Map<string, Totals>, key: string, t: Totals): void {
  const sum = into.get(key);
  if (!sum) {
    into.set(key, { ...t });
    return;
  }
  sum.cost += t.cost;
  sum.saved += t.saved;
  sum.requests += t.requests;
  sum.cached += t.cached;
  sum.unpriced += t.unpriced;
  sum.input += t.input;
  sum.output += t.output;
}

/** Totals of the records in `[start, end)` (the partial days at the edges of a range). */
async function fromRecords(
  database: Database,
  q: ReportQuery,
  start: Date,
  end: Date,
  by: Grouping,
  into: Map<string, Totals>,
) {
  const day = sql<string>`to_char(timestamp at time zone 'UTC', 'YYYY-MM-DD')`;
  const key = by === 'model' ? sql<string>`model` : by === 'day' ? day : sql<string>`''`;
  const query = filtered(database, q, start, end).select([key.as('key'), ...Object.values(totals)]);
  const rows = await (by === 'all' ? query : query.groupBy(key)).execute();
  for (const r of rows) {
    add(into, r.key, {
      cost: Number(r.total_cost),
      saved: Number(r.saved_cost),
      requests: r.request_count,
      cached: r.cached_requests,
      unpriced: r.unpriced_requests,
      input: Number(r.input_tokens),
      output: Number(r.output_tokens),
    });
  }
}

/** Totals of whole UTC days from the daily rollups. */
async function fromRollups(
  database: Database,
  q: ReportQuery,
  start: number,
  end: number,
  by: Grouping,
  into: Map<string, Totals>,
) {
  const { rows } = await querySpend(database.db, {
    groupBy: by === 'all' ? [] : [by],
    startDay: new Date(start).toISOString().slice(0, 10),
    endDay: new Date(end - DAY_MS).toISOString().slice(0, 10),
    filters: {
      ...(q.userId !== null ? { user: q.userId } : {}),
      ...(q.orgId != null ? { org: q.orgId } : {}),
      ...(q.teamId != null ? { team: q.teamId } : {}),
    },
    limit: MAX_LIMIT,
  });
  for (const r of rows) {
    add(into, by === 'all' ? '' : String(r[by]), {
      cost: r.cost,
      saved: r.saved_cost,
      requests: r.requests,
      cached: r.cached_requests,
      unpriced: r.unpriced_requests,
      input: r.input_tokens,
      output: r.output_tokens,
    });
  }
}

/**
 * Totals over the query's range: its whole UTC days from the rollups, the partial days at its edges (a
 * timestamp range, the default range ending now) from the records.
 */
async function rangeTotals(database: Database, q: ReportQuery, by: Grouping): Promise<Map<string, Totals>> {
  const into = new Map<string, Totals>();
  const start = q.start.getTime();
  const end = q.end.getTime();
  const firstWhole = Math.ceil(start / DAY_MS) * DAY_MS;
  const lastWhole = Math.floor(end / DAY_MS) * DAY_MS;
  if (firstWhole >= lastWhole) {
    await fromRecords(database, q, q.start, q.end, by, into);
    return into;
  }
  await fromRollups(database, q, firstWhole, lastWhole, by, into);
  if (start < firstWhole) await fromRecords(database, q, q.start, new Date(firstWhole), by, into);
  if (lastWhole < end) await fromRecords(database, q, new Date(lastWhole), q.end, by, into);
  return into;
}

/** The summary report. */
export async function costSummary(database: Database, q: ReportQuery) {
  const all = (await rangeTotals(database, q, 'all')).get('') ?? {
    cost: 0,
    saved: 0,
    requests: 0,
    cached: 0,
    unpriced: 0,
    input: 0,
    output: 0,
  };
  const byModel = [...(await rangeTotals(database, q, 'model')).entries()].sort(
    (a, b) => b[1].cost - a[1].cost,
  );
  return {
    user_id: q.userId,
    start_date: q.start.toISOString(),
    end_date: q.end.toISOString(),
    total_cost: usd(all.cost),
    request_count: all.requests,
    cached_requests: all.cached,
    unpriced_requests: all.unpriced,
    input_tokens: all.input,
    output_tokens: all.output,
    total_tokens: all.input + all.output,
    saved_cost: usd(all.saved),
    cost_by_model: Object.fromEntries(
      byModel.map(([model, m]) => [
        model,
        {
          cost: usd(m.cost),
          requests: m.requests,
          input_tokens: m.input,
          output_tokens: m.output,
          tokens: m.input + m.output,
        },
      ]),
    ),
  };
}

/** Per-UTC-day totals, oldest first (days without traffic are omitted). */
export async function costDaily(database: Database, q: ReportQuery) {
  const days = [...(await rangeTotals(database, q, 'day')).entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return {
    user_id: q.userId,
    start_date: q.start.toISOString(),
    end_date: q.end.toISOString(),
    data: days.map(([date, d]) => ({
      date,
      total_cost: usd(d.cost),
      request_count: d.requests,
      input_tokens: d.input,
      output_tokens: d.output,
      saved_cost: usd(d.saved),
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

/** Limits a report to what an org or team admin may read (a record outside any org/team: never theirs). */
function scoped(q: ReportQuery, actor: AdminActor): ReportQuery {
  if (actor.role === 'org_admin') return { ...q, orgId: actor.orgId ?? '\u0000' };
  if (actor.role === 'team_admin') return { ...q, teamId: actor.teamId ?? '\u0000' };
  return q;
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
    // An unknown filter (`team_id`, `api_key_id` …) is a 422, never a silently unfiltered report.
    additionalProperties: false,
  };
  return [
    {
      method: 'GET',
      url: '/admin/costs/summary',
      summary: 'Cost summary by model (org and team admins: their own subtree)',
      access: 'tenant',
      querystring,
      async handler(request) {
        const q = scoped(
          parseReportQuery(request.query as Record<string, unknown>, deps.now()),
          request.actor,
        );
        return costSummary(await ready(), q);
      },
    },
    {
      method: 'GET',
      url: '/admin/costs/daily',
      summary: 'Cost per UTC day (org and team admins: their own subtree)',
      access: 'tenant',
      querystring,
      async handler(request) {
        const q = scoped(
          parseReportQuery(request.query as Record<string, unknown>, deps.now()),
          request.actor,
        );
        return costDaily(await ready(), q);
      },
    },
  ];
}
