/**
 * Writes one admin action to `audit_log` (migration 0001; `org_id`/`team_id` from 0006), inside the
 * caller's transaction so the change and its record exist together or not at all. Never a secret.
 */
import type { Db } from '../stores/database.js';

/** Who did it: `admin@<ip>`, `org_admin:<key id>@<ip>`, `cli:<user>`; and the request id. */
export interface Actor {
  actor: string;
  requestId?: string | null;
}

/** Where an action happened in the tree (who may read its audit entry). */
export interface AuditPlace {
  orgId?: string | null;
  teamId?: string | null;
}

export async function writeAudit(
  trx: Pick<Db, 'insertInto'>,
  actor: Actor,
  action: string,
  target: string,
  details: Record<string, unknown>,
  place: AuditPlace = {},
): Promise<void> {
  await trx
    .insertInto('audit_log')
    .values({
      actor: actor.actor,
      action,
      target,
      details: JSON.stringify(details),
      request_id: actor.requestId ?? null,
      org_id: place.orgId ?? null,
      team_id: place.teamId ?? null,
    })
    .execute();
}
