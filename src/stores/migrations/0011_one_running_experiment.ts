/**
 * 0011: at most one running experiment per prompt label, held by the database (decision 0181). The admin
 * API checked it before writing (decision 0176), but two requests at once could both pass the check and
 * both start; the partial unique index makes the second write fail, which the API answers with its 409.
 *
 * Where two experiments already run on one label, the one that served the label's traffic — the lowest id,
 * as the resolver picks it — keeps running and the others are stopped (they served nothing).
 */
import { type Kysely, sql } from 'kysely';

export const ONE_RUNNING_PER_LABEL = 'experiments_one_running_per_label';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`update experiments set status = 'stopped', updated_at = now()
    where status = 'running' and prompt_id is not null and label is not null
      and id <> (select min(e.id) from experiments e
        where e.status = 'running' and e.prompt_id = experiments.prompt_id and e.label = experiments.label)`.execute(
    db,
  );
  await sql`create unique index ${sql.raw(ONE_RUNNING_PER_LABEL)} on experiments (prompt_id, label)
    where status = 'running'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists ${sql.raw(ONE_RUNNING_PER_LABEL)}`.execute(db);
}
