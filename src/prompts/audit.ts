/**
 * Prompt and experiment changes go to the audit log (`audit_log`, as key changes do): who created a
 * version, moved a label, archived a prompt, started or stopped an experiment — never a template's content.
 * Every write of the prompt and experiment stores takes the actor (not optional), so a caller that forgets it
 * (as `prompts import` once did) does not compile.
 */
import type { Db } from '../stores/database.js';

/** Who made a change: `admin@<ip>` through the admin API, `cli:<user>` from the CLI. */
export interface ChangeActor {
  readonly actor: string;
  readonly requestId?: string | null;
}

export async function auditChange(
  db: Pick<Db, 'insertInto'>,
  who: ChangeActor,
  action: string,
  target: string,
  details: Record<string, unknown>,
): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      actor: who.actor,
      action,
      target,
      details: JSON.stringify(details),
      request_id: who.requestId ?? null,
    })
    .execute();
}
