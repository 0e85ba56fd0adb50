/**
 * Time-bucketed traffic statistics (admin API, DESIGN §18): `GET /admin/stats?hours=6&bucket_seconds=300`
 * — requests, errors, cached answers, latency p50/p95, cost and cache savings per bucket over the last
 * hours (empty buckets included, so charts have a continuous axis), the window's totals, and today's (UTC)
 * spend. From the usage records: records still queued in memory are not counted yet.
 */
import { Type as T } from '@sinclair/typebox';
import { sql } from 'kysely';
import { ValidationError } from '../core/errors.js';
import type { AdminActor, AdminRoute } from '../core/feature.js';
import type { Database } from '../stores/database.js';
import { usageScope } from './tenant-scope.js';

const DAY_MS = 86_400_000;
const MAX_BUCKETS = 1_000;

export const StatsQuery = T.Object(
  {
    hours: T.Optional(T.String({ pattern: '^[1-9][0-9]{0,2}$', description: 'window, 1–720 hours (6)' })),
    bucket_seconds: T.Optional(
      T.String({ pattern: '^[1-9][0-9]{1,5}$', description: 'bucket width, 10–86400 s (window / 60)' }),
    ),
  },
  { additionalProperties: false },
);
type Query = typeof StatsQuery.static;

export interface StatsWindow {
  /** Inclusive, ms, aligned to the bucket width. */
  start: number;
  /** Exclusive, ms. */
  end: number;
  bucketMs: number;
}

/** The window ending at `now`, its start aligned to a bucket. @throws ValidationError naming the parameter. */
export function statsWindow(q: Query, now: number): StatsWindow {
  const hours = q.hours === undefined ? 6 : Number(q.hours);
  if (hours > 720) throw new ValidationError('hours must be between 1 and 720.', 'hours');
  const seconds = q.bucket_seconds === undefined ? Math.max(60, hours * 60) : Number(q.bucket_seconds);
  if (seconds < 10 || seconds > 86_400) {
    throw new ValidationError('bucket_seconds must be between 10 and 86400.', 'bucket_seconds');
  }
  const bucketMs = seconds * 1000;
  if ((hours * 3_600_000) / bucketMs > MAX_BUCKETS) {
    throw new ValidationError(
      `hours / bucket_seconds gives more than ${MAX_BUCKETS} buckets; use wider buckets.`,
      'bucket_seconds',
    );
  }
  const end = now;
  const start = Math.floor((end - hours * 3_600_000) / bucketMs) * bucketMs;
  return { start, end, bucketMs };
}

const measures = {
  requests: sql<number>`count(*)::int`.as('requests'),
  errors: sql<number>`count(*) filter (where status <> 'success')::int`.as('errors'),
  cached: sql<number>`count(*) filter (where cached)::int`.as('cached'),
  p50: sql<number | null>`percentile_cont(0.5) within group (order by latency_ms)`.as('p50'),
  p95: sql<number | null>`percentile_cont(0.95) within group (order by latency_ms)`.as('p95'),
  cost: sql<string>`coalesce(sum(cost_usd), 0)`.as('cost'),
  saved: sql<string>`coalesce(sum(saved_usd), 0)`.as('saved'),
  input: sql<string>`coalesce(sum(input_tokens), 0)::bigint`.as('input_tokens'),
  output: sql<string>`coalesce(sum(output_tokens), 0)::bigint`.as('output_tokens'),
};

interface Row {
  requests: number;
  errors: number;
  cached: number;
  p50: number | null;
  p95: number | null;
  cost: string;
  saved: string;
  input_tokens: string;
  output_tokens: string;
}

function shape(r: Row | undefined) {
  const round = (v: unknown) => Math.round(Number(v ?? 0) * 1e6) / 1e6;
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(Number(v)));
  return {
    requests: r?.requests ?? 0,
    errors: r?.errors ?? 0,
    cached: r?.cached ?? 0,
    latency_p50_ms: ms(r?.p50),
    latency_p95_ms: ms(r?.p95),
    cost_usd: round(r?.cost),
    saved_usd: round(r?.saved),
    input_tokens: Number(r?.input_tokens ?? 0),
    output_tokens: Number(r?.output_tokens ?? 0),
  };
}

/** The statistics `actor` may see over `w`; `now`: wall-clock ms (today = its UTC day). */
export async function stats(database: Database, actor: AdminActor, w: StatsWindow, now: number) {
  const seconds = w.bucketMs / 1000;
  const bucket = sql<number>`(floor(extract(epoch from timestamp) / ${sql.lit(seconds)}) * ${sql.lit(seconds)})::bigint`;
  const scoped = (from: Date, to: Date) =>
    database.db
      .selectFrom('usage_records')
      .where(usageScope(actor))
      .where('timestamp', '>=', from)
      .where('timestamp', '<', to);
  const startDate = new Date(w.start);
  const endDate = new Date(w.end);
  const dayStart = new Date(Math.floor(now / DAY_MS) * DAY_MS);
  const [rows, totals, today] = await Promise.all([
    scoped(startDate, endDate)
      .select([bucket.as('bucket'), ...Object.values(measures)])
      .groupBy(bucket)
      .orderBy(bucket)
      .execute(),
    scoped(startDate, endDate).select(Object.values(measures)).executeTakeFirst(),
    scoped(dayStart, new Date(dayStart.getTime() + DAY_MS))
      .select(Object.values(measures))
      .executeTakeFirst(),
  ]);
  const byStart = new Map(rows.map((r) => [Number(r.bucket) * 1000, r as unknown as Row]));
  const buckets = [];
  for (let t = w.start; t < w.end; t += w.bucketMs) {
    buckets.push({ start: new Date(t).toISOString(), ...shape(byStart.get(t)) });
  }
  const day = shape(today as Row | undefined);
  return {
    start: startDate.toISOString(),
    end: endDate.toISOString(),
    bucket_seconds: seconds,
    totals: shape(totals as Row | undefined),
    today: {
      date: dayStart.toISOString().slice(0, 10),
      requests: day.requests,
      cost_usd: day.cost_usd,
      saved_usd: day.saved_usd,
    },
    buckets,
  };
}

/** `GET /admin/stats` (org and team admins: their own records only). */
export function statsRoute(deps: { ready: () => Promise<Database>; now: () => number }): AdminRoute {
  return {
    method: 'GET',
    url: '/admin/stats',
    summary: 'Traffic, errors, latency p50/p95, cost and cache savings per time bucket',
    access: 'tenant',
    querystring: StatsQuery,
    async handler(request) {
      const now = deps.now();
      const window = statsWindow(request.query as Query, now);
      return stats(await deps.ready(), request.actor, window, now);
    },
  };
}
