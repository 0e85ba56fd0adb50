/** Org and team admin keys (DESIGN §7): the admin actor a key's principal stands for. */
import type { AdminActor } from '../core/feature.js';
import type { Principal } from './principal.js';

/** The admin actor of an org or team admin key's principal; null for any other key. */
export function actorOf(principal: Principal): AdminActor | null {
  if (principal.role === 'org_admin' && principal.orgId) {
    return {
      role: 'org_admin',
      keyId: principal.keyId,
      orgId: principal.orgId,
      teamId: null,
      tier: principal.tier,
    };
  }
  if (principal.role === 'team_admin' && principal.teamId) {
    return {
      role: 'team_admin',
      keyId: principal.keyId,
      orgId: principal.orgId ?? null,
      teamId: principal.teamId,
      tier: principal.tier,
    };
  }
  return null;
}
