/**
 * Spend reports over the daily rollups (DESIGN §8, issue 16; decision 0107):
 *
 *   GET /admin/spend?group_by=team,model&start_date=2026-03-01&end_date=2026-03-31&team_id=…&limit=10&format=csv
 *
 * - `group_by`: any of `org`, `team`, `key`, `user`, `model`, `provider`, `tag`, `day` (comma-separated, each
 *   once); none = one total row. A row has one field per dimension — `org_id`, `team_id`, `key_id`,
 *   `user_id`, `model`, `provider`, `tag`, `day` — and `cost`, `requests`, `input_tokens`, `output_tokens`,
 *   `saved_cost`, `cached_requests`, `unpriced_requests`.
 * - Filters: `org_id`, `team_id`, `key_id`, `user_id`, `model`, `provider`, `tag` (exact match).
 * - `start_date`/`end_date`: UTC days `YYYY-MM-DD`, both included (default: the last 30 days).
 * - Rows by cost, highest first (with `day`: by day, then cost); `limit` = top N (default 1000, at most
 *   10,000); `has_more` says when rows were left out.
 * - `format=csv`: the same rows as CSV (`text/csv`); the body has no room for `has_more`, so the answer
 *   carries it as headers: `X-Has-More: true|false` and `X-Limit: N` (the limit applied).
 *
 * Reads the smallest rollup table that has the asked dimensions: `usage_daily_team` (org, team, model,
 * provider, day), else `usage_daily_key` (+ key, user), else `usage_daily_tag` (+ tag: only tagged records;
 * a record with two tags counts under each). Org and team admin keys see only their own subtree: their
 * org/team filter is forced (asking for another one is a 403).
 */
import { sql } from 'kysely';
import { ForbiddenError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import { type AdminActor, type AdminRoute, withStatus } from '../core/feature.js';
import type { Database, Db } from '../stores/database.js';

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** Longest range one report may cover. */
const MAX_DAYS = 3_660;
export const DEFAULT_LIMIT = 1_000;
export const MAX_LIMIT = 10_000;

/** A grouping dimension: its column in the rollups and its field in a report row. */
const DIMENSIONS = {
  org: { column: 'org_id', field: 'org_id' },
  team: { column: 'team_id', field: 'team_id' },
  key: { column: 'api_key_id', field: 'key_id' },
  user: { column: 'user_id', field: 'user_id' },
  model: { column: 'model', field: 'model' },
  provider: { column: 'provider', field: 'provider' },
  tag: { column: 'tag', field: 'tag' },
  day: { column: 'day', field: 'day' },
} as const;

export type Dimension = keyof typeof DIMENSIONS;
type Filterable = Exclude<Dimension, 'day'>;

/** Query parameter of each filter. */
const FILTERS: Record<Filterable, string> = {
  org: 'org_id',
  team: 'team_id',
  key: 'key_id',
  user: 'user_id',
  model: 'model',
  provider: 'provider',
  tag: 'tag',
};

export interface SpendQuery {
  groupBy: Dimension[];
  /** UTC days, both included. */
  startDay: string;
  endDay: string;
  filters: Partial<Record<Filterable, string>>;
  limit: number;
  format: 'json' | 'csv';
}

export interface SpendRow {
  [field: string]: string | number | null;
  cost: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  saved_cost: number;
  cached_requests: number;
  unpriced_requests: number;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function one(query: Readonly<Record<string, unknown>>, name: string): string | null {
  const value = query[name];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string') throw new ValidationError(`${name} must be given once.`, name);
  return value;
}

/** The last day a report may name (as the cost reports: what both PostgreSQL and JavaScript hold). */
const LAST_DAY_MS = Date.UTC(9999, 11, 31);

function parseDay(value: string, name: string): number {
  const ms = DATE.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  if (Number.isNaN(ms) || day(ms) !== value) {
    throw new ValidationError(
      `${name} must be a UTC day (YYYY-MM-DD): spend is kept per day; got "${value.slice(0, 40)}".`,
      name,
    );
  }
  // Year 0000 is a database error, not a 5xx.
  if (ms < 0 || ms > LAST_DAY_MS) {
    throw new ValidationError(`${name} must be between 1970-01-01 and 9999-12-31.`, name);
  }
  return ms;
}

/**
 * Parses and checks the query string, and limits it to the actor's subtree.
 * @throws ValidationError (422) naming the bad parameter; ForbiddenError (403) for another tenant's filter.
 */
export function parseSpendQuery(
  query: Readonly<Record<string, unknown>>,
  actor: AdminActor,
  nowMs: number,
): SpendQuery {
  const groupBy: Dimension[] = [];
  for (const name of (one(query, 'group_by') ?? '').split(',').map((s) => s.trim())) {
    if (name === '') continue;
    if (!Object.hasOwn(DIMENSIONS, name)) {
      throw new ValidationError(
        `group_by: unknown dimension "${name.slice(0, 40)}"; use ${Object.keys(DIMENSIONS).join(', ')}.`,
        'group_by',
      );
    }
    if (groupBy.includes(name as Dimension)) {
      throw new ValidationError(`group_by names "${name}" twice.`, 'group_by');
    }
    groupBy.push(name as Dimension);
  }
  const endText = one(query, 'end_date');
  const startText = one(query, 'start_date');
  const end = endText === null ? Math.floor(nowMs / DAY_MS) * DAY_MS : parseDay(endText, 'end_date');
  const start = startText === null ? end - 29 * DAY_MS : parseDay(startText, 'start_date');
  if (start > end) throw new ValidationError('end_date must not be before start_date.', 'end_date');
  if ((end - start) / DAY_MS >= MAX_DAYS) {
    throw new ValidationError(`A report covers at most ${MAX_DAYS} days.`, 'start_date');
  }
  const filters: Partial<Record<Filterable, string>> = {};
  for (const [dimension, param] of Object.entries(FILTERS) as Array<[Filterable, string]>) {
    const value = one(query, param);
    if (value !== null) filters[dimension] = value;
  }
  limitToActor(filters, actor);
  const limitText = one(query, 'limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}.`, 'limit');
  }
  const format = one(query, 'format') ?? 'json';
  if (format !== 'json' && format !== 'csv') {
    throw new ValidationError('format must be json or csv.', 'format');
  }
  return { groupBy, startDay: day(start), endDay: day(end), filters, limit, format };
}

/** Org and team admins: their own org/team filter, always. */
function limitToActor(filters: Partial<Record<Filterable, string>>, actor: AdminActor): void {
  const force = (dimension: 'org' | 'team', id: string | null) => {
    // An org/team admin without its org/team sees nothing rather than everything.
    const own = id ?? '\u0000none';
    if (filters[dimension] !== undefined && filters[dimension] !== own) {
      throw new ForbiddenError(
        `This admin key may only report on its own ${dimension === 'org' ? 'organization' : 'team'}.`,
        FILTERS[dimension],
      );
    }
    filters[dimension] = own;
  };
  if (actor.role === 'org_admin') force('org', actor.orgId);
  if (actor.role === 'team_admin') {
    force('team', actor.teamId);
    // Its team is its whole subtree: another organization is a 403, but its own is not added as a filter
    // (records keep the organization they were made in, so a team moved to another one would lose its
    // history here while /admin/requests and /admin/costs still showed it).
    if (filters.org !== undefined && filters.org !== actor.orgId) {
      throw new ForbiddenError('This admin key may only report on its own organization.', FILTERS.org);
    }
  }
}

/**
 * An org admin naming a team, or an org/team admin naming a key, outside its subtree: 403 rather than an
 * empty report (one lookup per admin call, decision 0146).
 */
async function checkOwnership(
  db: Db,
  filters: Partial<Record<Filterable, string>>,
  actor: AdminActor,
): Promise<void> {
  if (actor.role === 'admin') return;
  const outside = (row: { org_id: string | null; team_id: string | null } | undefined) =>
    !row || (actor.role === 'org_admin' ? row.org_id !== actor.orgId : row.team_id !== actor.teamId);
  if (filters.team !== undefined && actor.role === 'org_admin') {
    const team = await db
      .selectFrom('teams')
      .select(['org_id', 'id as team_id'])
      .where('id', '=', filters.team)
      .executeTakeFirst();
    if (outside(team))
      throw new ForbiddenError('This admin key may only report on its own teams.', 'team_id');
  }
  if (filters.key !== undefined) await checkKeyInScope(db, filters.key, actor, 'key_id');
}

/**
 * A key named by a report's filter must be in the caller's subtree: a key outside it is a 403, not an empty
 * answer that looks like no traffic (decisions 0102, 0146). The global admin may name any key.
 */
export async function checkKeyInScope(
  db: Db,
  keyId: string,
  actor: AdminActor,
  param: string,
): Promise<void> {
  if (actor.role === 'admin') return;
  const key = await db
    .selectFrom('api_keys')
    .select(['org_id', 'team_id'])
    .where('id', '=', keyId)
    .executeTakeFirst();
  const outside =
    !key || (actor.role === 'org_admin' ? key.org_id !== actor.orgId : key.team_id !== actor.teamId);
  if (outside) throw new ForbiddenError('This admin key may only report on its own keys.', param);
}

/** The smallest rollup table with every dimension the query groups or filters by. */
function tableFor(q: Pick<SpendQuery, 'groupBy' | 'filters'>): string {
  const used = new Set<string>([...q.groupBy, ...Object.keys(q.filters)]);
  if (used.has('tag')) return 'usage_daily_tag';
  if (used.has('key') || used.has('user')) return 'usage_daily_key';
  return 'usage_daily_team';
}

const usd = (value: unknown) => Math.round(Number(value ?? 0) * 1e6) / 1e6;

/** Runs a spend query on the rollups: at most `limit` rows, and whether there were more. */
export async function querySpend(
  db: Db,
  q: Omit<SpendQuery, 'format'>,
): Promise<{ rows: SpendRow[]; hasMore: boolean }> {
  const table = sql.table(tableFor(q));
  const dims = q.groupBy.map((d) => DIMENSIONS[d]);
  const selectDims = dims.map(({ column, field }) =>
    column === 'day'
      ? sql`to_char(day, 'YYYY-MM-DD') as day`
      : sql`nullif(${sql.ref(column)}, '') as ${sql.ref(field)}`,
  );
  const where = [sql`day >= ${q.startDay}::date`, sql`day <= ${q.endDay}::date`];
  for (const [dimension, value] of Object.entries(q.filters) as Array<[Filterable, string]>) {
    where.push(sql`${sql.ref(DIMENSIONS[dimension].column)} = ${value}`);
  }
  const groupBy = dims.length > 0 ? sql`group by ${sql.join(dims.map((d) => sql.ref(d.column)))}` : sql``;
  // The top `limit` rows by cost, whatever the grouping; with `day` grouped they are then shown by day.
  const order = sql`order by cost desc${dims.length > 0 ? sql`, ${sql.join(dims.map((d) => sql.ref(d.column)))}` : sql``}`;
  const metrics = sql`coalesce(sum(cost_usd), 0) as cost, coalesce(sum(requests), 0)::bigint as requests,
    coalesce(sum(input_tokens), 0)::bigint as input_tokens, coalesce(sum(output_tokens), 0)::bigint as output_tokens,
    coalesce(sum(saved_usd), 0) as saved_cost, coalesce(sum(cached_requests), 0)::bigint as cached_requests,
    coalesce(sum(unpriced_requests), 0)::bigint as unpriced_requests`;
  const result = await sql<Record<string, unknown>>`
    select ${sql.join([...selectDims, metrics])} from ${table}
    where ${sql.join(where, sql` and `)} ${groupBy} ${order} limit ${q.limit + 1}`.execute(db);
  const rows = result.rows.slice(0, q.limit).map((r) => {
    const row: SpendRow = {
      cost: 0,
      requests: 0,
      input_tokens: 0,
      output_tokens: 0,
      saved_cost: 0,
      cached_requests: 0,
      unpriced_requests: 0,
    };
    for (const { field } of dims) row[field] = (r[field] as string | null) ?? null;
    row.cost = usd(r.cost);
    row.requests = Number(r.requests);
    row.input_tokens = Number(r.input_tokens);
    row.output_tokens = Number(r.output_tokens);
    row.saved_cost = usd(r.saved_cost);
    row.cached_requests = Number(r.cached_requests);
    row.unpriced_requests = Number(r.unpriced_requests);
    return row;
  });
  if (q.groupBy.includes('day')) rows.sort(byDayThenCost);
  return { rows, hasMore: result.rows.length > q.limit };
}

/** Days in order, and within a day the costliest first (the sort is stable: ties keep the query's order). */
function byDayThenCost(a: SpendRow, b: SpendRow): number {
  const [x, y] = [String(a.day), String(b.day)];
  return x < y ? -1 : x > y ? 1 : b.cost - a.cost;
}

/** Report rows as CSV (RFC 4180: a header line, fields quoted when they need it). */
export function spendCsv(groupBy: readonly Dimension[], rows: readonly SpendRow[]): string {
  const columns = [
    ...groupBy.map((d) => DIMENSIONS[d].field),
    'cost',
    'requests',
    'input_tokens',
    'output_tokens',
    'saved_cost',
    'cached_requests',
    'unpriced_requests',
  ];
  const cell = (value: unknown) => {
    let text = value === null || value === undefined ? '' : String(value);
    // A value a spreadsheet would run as a formula (a tag `=cmd`) is kept as text.
    if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** `GET /admin/spend` (global admin, org and team admin keys). `now`: wall-clock ms. */
export function spendRoutes(deps: { database: () => Database; now: () => number }): AdminRoute[] {
  const text = { type: 'string', maxLength: 256 };
  return [
    {
      method: 'GET',
      url: '/admin/spend',
      summary: 'Spend grouped by org, team, key, user, model, provider, tag or day (JSON or CSV)',
      responses: {
        200: {
          description:
            'Spend rows (`has_more`), or CSV with `format=csv` (same columns; `X-Has-More` says when rows ' +
            'were left out)',
          component: 'AdminList',
          csv: true,
          headers: {
            'X-Has-More': {
              type: 'string',
              enum: ['true', 'false'],
              description:
                'With `format=csv`: `true` when more rows than `limit` matched and were left out (JSON: `has_more`)',
            },
            'X-Limit': {
              type: 'string',
              description: 'With `format=csv`: the `limit` applied (default 1000, at most 10000)',
            },
          },
        },
      },
      access: 'tenant',
      querystring: {
        type: 'object',
        properties: Object.fromEntries(
          ['group_by', 'start_date', 'end_date', 'limit', 'format', ...Object.values(FILTERS)].map((n) => [
            n,
            text,
          ]),
        ),
        // A misspelt filter (`api_key_id`, as /admin/requests names it) is a 422, never a silently
        // unfiltered report.
        additionalProperties: false,
      },
      async handler(request) {
        const q = parseSpendQuery(request.query, request.actor, deps.now());
        const database = deps.database();
        if (!database.isReady()) {
          throw new ServiceUnavailableError('The usage database is not available yet; try again shortly.');
        }
        await checkOwnership(database.db, q.filters, request.actor);
        const { rows, hasMore } = await querySpend(database.db, q);
        if (q.format === 'csv') {
          return withStatus(200, spendCsv(q.groupBy, rows), {
            'content-type': 'text/csv; charset=utf-8',
            'content-disposition': 'attachment; filename="spend.csv"',
            // The JSON answer's `has_more`: a CSV consumer can tell a cut report from a complete one.
            'x-has-more': String(hasMore),
            'x-limit': String(q.limit),
          });
        }
        return {
          object: 'list',
          group_by: q.groupBy,
          start_date: q.startDay,
          end_date: q.endDay,
          filters: Object.fromEntries(
            Object.entries(q.filters).map(([d, v]) => [FILTERS[d as Filterable], v]),
          ),
          limit: q.limit,
          has_more: hasMore,
          data: rows,
        };
      },
    },
  ];
}
