/**
 * Evaluation runs in the gateway's database (`eval_runs`, `eval_results`, migration 0009) and the admin
 * routes the CLI writes them through (`llm-gateway eval run --admin-key`; never by opening the database from
 * a second process):
 *
 *   POST  /admin/evals/runs                 create a run (the same id again: the stored run, for a resume)
 *   PATCH /admin/evals/runs/{id}            status, finished_at, summary
 *   POST  /admin/evals/runs/{id}/results    upsert results (one per item × target)
 *   GET   /admin/evals/runs                 the latest runs
 *   GET   /admin/evals/runs/{id}            one run
 *   GET   /admin/evals/runs/{id}/results    its results (as in results.jsonl)
 *   GET   /admin/evals/runs/{id}/report     per-target metric summaries
 */
import { Type as T } from '@sinclair/typebox';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.js';
import { type AdminRoute, type Feature, withStatus } from '../core/feature.js';
import type { Database } from '../stores/database.js';
import { limitOf, limitParam } from '../tenancy/pagination.js';
import type { ResultRecord } from './results.js';
import { summarise } from './summary.js';

const Id = T.String({ minLength: 1, maxLength: 128, pattern: '^[\\w.:-]+$' });
/** Bounds of the typed columns (int4; numeric(12, 6)): a larger value is a 422, never the database's 500. */
const INT4_MAX = 2_147_483_647;
const Tokens = T.Union([T.Integer({ minimum: 0, maximum: INT4_MAX }), T.Null()]);
const Ms = T.Union([T.Number({ minimum: 0, maximum: 1e12 }), T.Null()]);
const RunParams = T.Object({ id: Id });
/** The most runs `GET /admin/evals/runs` lists (`?limit`, default 50). */
const MAX_RUNS_LISTED = 500;
const CreateRun = T.Object(
  {
    id: Id,
    name: T.Optional(T.String({ maxLength: 200 })),
    dataset: T.String({ minLength: 1, maxLength: 1000 }),
    dataset_sha256: T.String({ pattern: '^[0-9a-f]{64}$' }),
    item_count: T.Integer({ minimum: 0, maximum: INT4_MAX }),
    targets: T.Array(T.String({ minLength: 1, maxLength: 300 }), { minItems: 1, maxItems: 50 }),
    judge: T.Optional(T.Union([T.String({ maxLength: 300 }), T.Null()])),
    settings: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { additionalProperties: false },
);
const UpdateRun = T.Object(
  {
    status: T.Optional(T.Union([T.Literal('running'), T.Literal('finished'), T.Literal('failed')])),
    finished: T.Optional(T.Boolean()),
    summary: T.Optional(T.Unknown()),
  },
  { additionalProperties: false },
);
const Result = T.Object(
  {
    item_id: T.String({ minLength: 1, maxLength: 200 }),
    target: T.String({ minLength: 1, maxLength: 300 }),
    error: T.Union([T.String(), T.Null()]),
    scores: T.Record(T.String(), T.Number()),
    total_ms: Ms,
    ttft_ms: Ms,
    cost_usd: T.Union([T.Number({ minimum: 0, maximum: 999_999 }), T.Null()]),
    input_tokens: Tokens,
    output_tokens: Tokens,
  },
  { additionalProperties: true },
);
const Results = T.Object({ results: T.Array(Result, { minItems: 1, maxItems: 500 }) });

export interface EvalRunView {
  id: string;
  name: string | null;
  created_at: string;
  finished_at: string | null;
  status: string;
  dataset: string;
  dataset_sha256: string;
  item_count: number;
  targets: string[];
  judge: string | null;
  settings: Record<string, unknown>;
  summary: unknown;
}

/** The admin routes of evaluation runs, as a feature the gateway mounts. */
export function createEvalFeature(deps: { database: () => Database; now: () => number }): Feature {
  const db = async () => {
    const database = deps.database();
    await Promise.race([
      database.ready,
      new Promise((_, reject) =>
        setTimeout(() => reject(new ServiceUnavailableError('The database is not ready.')), 10_000).unref(),
      ),
    ]);
    return database.db;
  };
  const getRun = async (id: string): Promise<EvalRunView> => {
    const row = await (await db())
      .selectFrom('eval_runs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new NotFoundError(`No evaluation run "${id}".`);
    return {
      ...row,
      created_at: new Date(row.created_at).toISOString(),
      finished_at: row.finished_at ? new Date(row.finished_at).toISOString() : null,
      targets: JSON.parse(row.targets) as string[],
      settings: JSON.parse(row.settings) as Record<string, unknown>,
      summary: row.summary ? (JSON.parse(row.summary) as unknown) : null,
    };
  };
  const getResults = async (id: string): Promise<ResultRecord[]> => {
    await getRun(id);
    const rows = await (await db())
      .selectFrom('eval_results')
      .select('record')
      .where('run_id', '=', id)
      .orderBy('created_at')
      .orderBy('item_id')
      .orderBy('target')
      .execute();
    return rows.map((r) => JSON.parse(r.record) as ResultRecord);
  };
  const routes: AdminRoute[] = [
    {
      method: 'POST',
      url: '/admin/evals/runs',
      summary: 'Create an evaluation run (the same id again returns the stored run: a resumed run)',
      responses: {
        201: { description: 'The new run', component: 'AdminObject' },
        200: {
          description: 'A run with this id existed: the stored run (resumed)',
          component: 'AdminObject',
        },
      },
      body: CreateRun,
      async handler(request) {
        const body = request.body as typeof CreateRun.static;
        const existing = await (await db())
          .selectFrom('eval_runs')
          .select('id')
          .where('id', '=', body.id)
          .executeTakeFirst();
        if (existing) return getRun(body.id);
        await (await db())
          .insertInto('eval_runs')
          .values({
            id: body.id,
            name: body.name ?? null,
            created_at: new Date(deps.now()),
            status: 'running',
            dataset: body.dataset,
            dataset_sha256: body.dataset_sha256,
            item_count: body.item_count,
            targets: JSON.stringify(body.targets),
            judge: body.judge ?? null,
            settings: JSON.stringify(body.settings ?? {}),
          })
          .execute();
        return withStatus(201, await getRun(body.id));
      },
    },
    {
      method: 'PATCH',
      url: '/admin/evals/runs/:id',
      summary: 'Update an evaluation run (status, summary, finished)',
      params: RunParams,
      body: UpdateRun,
      async handler(request) {
        const { id } = request.params as { id: string };
        const body = request.body as typeof UpdateRun.static;
        await getRun(id);
        const set: Record<string, unknown> = {};
        if (body.status) set.status = body.status;
        if (body.finished) set.finished_at = new Date(deps.now());
        if (body.summary !== undefined) set.summary = JSON.stringify(body.summary);
        if (Object.keys(set).length > 0) {
          await (await db()).updateTable('eval_runs').set(set).where('id', '=', id).execute();
        }
        return getRun(id);
      },
    },
    {
      method: 'POST',
      url: '/admin/evals/runs/:id/results',
      summary: 'Store results of an evaluation run (one per item × target; the same pair again replaces it)',
      params: RunParams,
      body: Results,
      async handler(request) {
        const { id } = request.params as { id: string };
        await getRun(id);
        const { results } = request.body as typeof Results.static;
        const database = await db();
        for (const r of results) {
          const row = {
            error: r.error,
            scores: JSON.stringify(r.scores),
            latency_ms: r.total_ms,
            ttft_ms: r.ttft_ms,
            cost_usd: r.cost_usd,
            input_tokens: r.input_tokens,
            output_tokens: r.output_tokens,
            record: JSON.stringify({ ...r, run_id: id }),
          };
          await database
            .insertInto('eval_results')
            .values({
              run_id: id,
              item_id: r.item_id,
              target: r.target,
              created_at: new Date(deps.now()),
              ...row,
            })
            .onConflict((oc) => oc.columns(['run_id', 'item_id', 'target']).doUpdateSet(row))
            .execute();
        }
        return { stored: results.length };
      },
    },
    {
      method: 'GET',
      url: '/admin/evals/runs',
      summary: 'List evaluation runs, newest first',
      querystring: T.Object({ limit: limitParam(MAX_RUNS_LISTED, 50) }, { additionalProperties: false }),
      async handler(request) {
        const limit = limitOf((request.query as { limit?: string }).limit, MAX_RUNS_LISTED, 50);
        const rows = await (await db())
          .selectFrom('eval_runs')
          .select('id')
          .orderBy('created_at', 'desc')
          .limit(limit)
          .execute();
        return { data: await Promise.all(rows.map((r) => getRun(r.id))) };
      },
    },
    {
      method: 'GET',
      url: '/admin/evals/runs/:id',
      summary: 'One evaluation run',
      params: RunParams,
      handler: async (request) => getRun((request.params as { id: string }).id),
    },
    {
      method: 'GET',
      url: '/admin/evals/runs/:id/results',
      summary: 'The results of an evaluation run (as in results.jsonl)',
      params: RunParams,
      handler: async (request) => ({ data: await getResults((request.params as { id: string }).id) }),
    },
    {
      method: 'GET',
      url: '/admin/evals/runs/:id/report',
      summary: 'Per-target metric summaries of an evaluation run',
      params: RunParams,
      async handler(request) {
        const { id } = request.params as { id: string };
        const run = await getRun(id);
        return { run, targets: summarise(await getResults(id), run.targets) };
      },
    },
  ];
  return { name: 'evals', routes };
}
