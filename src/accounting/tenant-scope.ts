/**
 * Which usage records an admin actor may read (DESIGN §7: tenants never see each other's data). The global
 * admin reads every record; an org admin the records of its organization; a team admin those of its team
 * (`org_id`/`team_id` on the record, migration 0007, copied from the key at request time).
 */
import type { ExpressionBuilder } from 'kysely';
import type { AdminActor } from '../core/feature.js';
import type { DatabaseSchema } from '../stores/schema.js';

/** A `where` condition over `usage_records` limiting it to what `actor` may read. */
export function usageScope(actor: AdminActor) {
  return (eb: ExpressionBuilder<DatabaseSchema, 'usage_records'>) => {
    if (actor.role === 'admin') return eb.lit(true);
    if (actor.role === 'org_admin') return eb('org_id', '=', actor.orgId ?? '\u0000');
    return eb('team_id', '=', actor.teamId ?? '\u0000');
  };
}
