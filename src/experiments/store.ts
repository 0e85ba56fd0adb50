/**
 * Experiments and feedback in the database (migration 0008), and the per-variant aggregates the report is
 * computed from (SQL aggregates: the report never loads an experiment's rows into memory).
 *
 * Feedback rows carry the caller's scope (`key:<id>`, else `user:<id>`) and join a usage record only when
 * the scope matches the record's: feedback a key leaves is counted only on that key's requests, even when it
 * arrived before the usage record was written (decision 0113).
 */
import { sql } from 'kysely';
import { requestScope } from '../auth/principal.js';
import { auditChange, type ChangeActor } from '../prompts/audit.js';
import { DatabaseStore } from '../stores/database-store.js';
import { ONE_RUNNING_PER_LABEL } from '../stores/migrations/0011_one_running_experiment.js';
import type { Experiment, Variant } from './assign.js';

/**
 * The largest magnitude of a numeric value (decision 0226), whatever the metric's `min`/`max`: far beyond
 * any score, and small enough that the report's aggregates (squares of the values, summed over any number
 * of rows) stay finite in double precision — 10^15 squared is 10^30, against a limit of 1.8·10^308.
 */
export const MAX_FEEDBACK_MAGNITUDE = 1e15;

export { requestScope };

/** No such experiment — 404. */
export class ExperimentNotFoundError extends Error {}
/** The experiment id is taken — 409. */
export class ExperimentExistsError extends Error {}
/** Another experiment runs on the same prompt label (the database's index refused the write) — 409. */
export class ExperimentLabelTakenError extends Error {}

/** Whether a unique violation is the one-running-experiment-per-label index's (migration 0011). */
function isOneRunningViolation(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string; message?: string } | null;
  return (
    e?.code === '23505' &&
    (e.constraint === ONE_RUNNING_PER_LABEL || String(e.message).includes(ONE_RUNNING_PER_LABEL))
  );
}

/** Per-variant traffic aggregates of an experiment. */
export interface VariantTraffic {
  variant: string;
  requests: number;
  errors: number;
  /** Mean cost of the priced requests (USD); null when none was priced. */
  costPerRequest: number | null;
  latencyP50: number | null;
  latencyP95: number | null;
}

/** Per-variant feedback aggregates of one metric. */
export interface VariantFeedback {
  variant: string;
  metric: string;
  n: number;
  /** The mean of the values (booleans: the share of 1s). */
  mean: number;
  /** The sample variance (0 with fewer than two values). */
  variance: number;
}

type Row = {
  id: string;
  status: string;
  variants: string;
  sticky_by: string;
  holdout: number;
  prompt_id: string | null;
  label: string | null;
};

function toExperiment(row: Row): Experiment {
  return {
    id: row.id,
    status: row.status as Experiment['status'],
    variants: JSON.parse(row.variants) as Variant[],
    sticky_by: row.sticky_by as Experiment['sticky_by'],
    holdout: Number(row.holdout),
    prompt_id: row.prompt_id,
    label: row.label,
  };
}

export class ExperimentStore extends DatabaseStore {
  async create(experiment: Experiment, who: ChangeActor): Promise<Experiment> {
    const db = await this.db();
    try {
      await db
        .insertInto('experiments')
        .values({
          id: experiment.id,
          status: experiment.status,
          variants: JSON.stringify(experiment.variants),
          sticky_by: experiment.sticky_by,
          holdout: experiment.holdout,
          prompt_id: experiment.prompt_id,
          label: experiment.label,
        })
        .execute();
    } catch (err) {
      if (isOneRunningViolation(err))
        throw new ExperimentLabelTakenError(`${experiment.prompt_id}@${experiment.label}`);
      if ((err as { code?: string }).code === '23505') {
        throw new ExperimentExistsError(`An experiment '${experiment.id}' exists already.`);
      }
      throw err;
    }
    await auditChange(db, who, 'experiment.create', experiment.id, {
      status: experiment.status,
      variants: experiment.variants,
      holdout: experiment.holdout,
    });
    return experiment;
  }

  /** @throws ExperimentNotFoundError */
  async get(id: string): Promise<Experiment> {
    const db = await this.db();
    const row = await db.selectFrom('experiments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ExperimentNotFoundError(`No experiment '${id}'.`);
    return toExperiment(row);
  }

  async list(): Promise<Experiment[]> {
    const db = await this.db();
    return (await db.selectFrom('experiments').selectAll().orderBy('id').execute()).map(toExperiment);
  }

  /** The running experiment attached to a prompt label, if any. */
  async attached(promptId: string, label: string): Promise<Experiment | null> {
    const db = await this.db();
    const row = await db
      .selectFrom('experiments')
      .selectAll()
      .where('prompt_id', '=', promptId)
      .where('label', '=', label)
      .where('status', '=', 'running')
      .orderBy('id')
      .executeTakeFirst();
    return row ? toExperiment(row) : null;
  }

  /** Starts or stops an experiment. @throws ExperimentNotFoundError */
  async setStatus(id: string, status: 'running' | 'stopped', who: ChangeActor): Promise<Experiment> {
    const db = await this.db();
    const result = await db
      .updateTable('experiments')
      .set({ status, updated_at: sql`now()` })
      .where('id', '=', id)
      .executeTakeFirst()
      .catch((err: unknown) => {
        if (isOneRunningViolation(err)) throw new ExperimentLabelTakenError(id);
        throw err;
      });
    if (result.numUpdatedRows === 0n) throw new ExperimentNotFoundError(`No experiment '${id}'.`);
    await auditChange(db, who, `experiment.${status === 'running' ? 'start' : 'stop'}`, id, {});
    return this.get(id);
  }

  /** Who made a request, from its usage record (null = not recorded, or not yet). */
  async requestOwner(requestId: string): Promise<string | null> {
    const db = await this.db();
    // The key's rotation chain owns the request (decision 0209): a rotated key's feedback joins the
    // requests its predecessors made.
    const row = await db
      .selectFrom('usage_records as u')
      .leftJoin('api_keys as k', 'k.id', 'u.api_key_id')
      .select(['u.api_key_id', 'u.user_id', 'k.lineage_id'])
      .where('u.request_id', '=', requestId)
      .executeTakeFirst();
    return row ? requestScope(row.lineage_id ?? row.api_key_id, row.user_id) : null;
  }

  /** Stores feedback, replacing an earlier value of the same (request, metric, scope): idempotent. */
  async putFeedback(row: {
    request_id: string;
    metric: string;
    scope: string;
    value: number;
    comment: string | null;
  }): Promise<void> {
    const db = await this.db();
    await db
      .insertInto('feedback')
      .values(row)
      .onConflict((c) =>
        c
          .columns(['request_id', 'metric', 'scope'])
          .doUpdateSet({ value: row.value, comment: row.comment, updated_at: sql`now()` }),
      )
      .execute();
  }

  /** Requests, errors, cost and latency per variant. */
  async traffic(experimentId: string): Promise<VariantTraffic[]> {
    const db = await this.db();
    const rows = await sql<{
      variant: string;
      requests: string;
      errors: string;
      cost: string | null;
      p50: number | null;
      p95: number | null;
    }>`select variant, count(*) as requests,
         count(*) filter (where status <> 'success') as errors,
         avg(cost_usd) as cost,
         percentile_cont(0.5) within group (order by latency_ms) as p50,
         percentile_cont(0.95) within group (order by latency_ms) as p95
       from usage_records where experiment_id = ${experimentId}
       group by variant order by variant`.execute(db);
    return rows.rows.map((r) => ({
      variant: r.variant,
      requests: Number(r.requests),
      errors: Number(r.errors),
      costPerRequest: r.cost === null ? null : Number(r.cost),
      latencyP50: r.p50 === null ? null : Number(r.p50),
      latencyP95: r.p95 === null ? null : Number(r.p95),
    }));
  }

  /**
   * Feedback per variant and metric, joined on the request id and the caller's scope. Mean and variance
   * come from the database's own aggregates (a numerically stable running update, not Σx² − n·mean²), over
   * values within ±`MAX_FEEDBACK_MAGNITUDE`: feedback takes no other (decision 0226), and a larger value
   * stored before that bound would overflow the aggregate — an error, not Infinity, in PostgreSQL — so it
   * is left out rather than failing the report.
   */
  async feedback(experimentId: string): Promise<VariantFeedback[]> {
    const db = await this.db();
    const rows = await sql<{ variant: string; metric: string; n: string; mean: number; variance: number }>`
      select u.variant, f.metric, count(*) as n, avg(f.value) as mean,
        coalesce(var_samp(f.value), 0) as variance
      from usage_records u
      left join api_keys k on k.id = u.api_key_id
      join feedback f on f.request_id = u.request_id
        and f.scope = (case when u.api_key_id is not null then 'key:' || coalesce(k.lineage_id, u.api_key_id)
                       else 'user:' || u.user_id end)
      where u.experiment_id = ${experimentId} and abs(f.value) <= ${MAX_FEEDBACK_MAGNITUDE}
      group by u.variant, f.metric order by u.variant, f.metric`.execute(db);
    return rows.rows.map((r) => ({
      variant: r.variant,
      metric: r.metric,
      n: Number(r.n),
      mean: Number(r.mean),
      variance: Number(r.variance),
    }));
  }
}
