/**
 * Which usage records an admin actor may read (DESIGN §7: tenants never see each other's data). The global
 * admin reads every record. Org and team admins read only their subtree's records — usage records do not
 * carry an organization or team yet (issue 16 adds them), so until then they read none: this is the one
 * place that filter grows.
 */
import { type ExpressionBuilder, sql } from 'kysely';
import type { AdminActor } from '../core/feature.js';
import type { DatabaseSchema } from '../stores/schema.js';

/** A `where` condition over `usage_records` limiting it to what `actor` may read. */
export function usageScope(actor: AdminActor) {
  return (eb: ExpressionBuilder<DatabaseSchema, 'usage_records'>) =>
    actor.role === 'admin' ? eb.lit(true) : eb.and([sql<boolean>`false`]);
}
