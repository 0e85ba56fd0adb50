/**
 * `PATCH /admin/keys/{id}` in the database: the fields given change (null clears a limit), the rest stay;
 * the change and its audit entry are one transaction. The caller has checked the actor's scope and the
 * values (tier, guardrails, team); this module only writes.
 */
import { type ApiKeyRow, KeyNotFoundError, placeOf } from '../auth/keys.js';
import type { Db } from '../stores/database.js';
import { type Actor, writeAudit } from './audit.js';
import type { PatchKeyInput } from './schemas.js';

/** The columns a patch sets; `place` = the team's organization when `team_id` changes. */
function columnsOf(patch: PatchKeyInput, place: { orgId: string | null } | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const copy = [
    'name',
    'tier',
    'daily_budget_usd',
    'monthly_budget_usd',
    'total_budget_usd',
    'rpm_limit',
    'tpm_limit',
    'allow_end_users',
    'role',
  ] as const;
  for (const k of copy) if (patch[k] !== undefined) out[k] = patch[k];
  if (patch.allowed_models !== undefined) out.allowed_models = JSON.stringify(patch.allowed_models);
  if (patch.guardrails !== undefined) out.guardrails = JSON.stringify(patch.guardrails);
  if (patch.metadata !== undefined) out.metadata = JSON.stringify(patch.metadata);
  if (patch.end_user_limits !== undefined) {
    out.end_user_limits = patch.end_user_limits === null ? null : JSON.stringify(patch.end_user_limits);
  }
  if (patch.expires_at !== undefined)
    out.expires_at = patch.expires_at === null ? null : new Date(patch.expires_at);
  if (patch.team_id !== undefined) {
    out.team_id = patch.team_id;
    if (place) out.org_id = place.orgId;
  }
  return out;
}

/** Applies a patch; returns the new row. @throws KeyNotFoundError */
export async function patchKey(
  db: Db,
  id: string,
  patch: PatchKeyInput,
  place: { orgId: string | null } | null,
  actor: Actor,
): Promise<ApiKeyRow> {
  return db.transaction().execute(async (trx) => {
    const before = await trx
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    if (!before) throw new KeyNotFoundError(id);
    const row = await trx
      .updateTable('api_keys')
      .set(columnsOf(patch, place) as never)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // Logged where it was and where it is now (a move between teams shows in both teams' audit views).
    await writeAudit(trx, actor, 'key.update', id, { ...patch, key_prefix: row.key_prefix }, placeOf(row));
    if (before.team_id !== row.team_id && before.team_id) {
      await writeAudit(trx, actor, 'key.move_out', id, { to_team_id: row.team_id }, placeOf(before));
    }
    return row;
  });
}
