/**
 * What an admin actor may see and change (DESIGN §7): the global admin everything; an org admin its
 * organization's teams and keys; a team admin its team's keys. Reaching outside the subtree is a 403
 * (decision 0102: 403 rather than 404, as the checks expect; ids are random, so a 403 reveals
 * nothing guessable). Admins grant only roles below their own.
 */
import { ForbiddenError } from '../core/errors.js';
import type { AdminActor, AdminRequest } from '../core/feature.js';
import type { Actor } from './audit.js';

const OUTSIDE = 'This admin key manages only its own';

/** 403 unless the actor's subtree holds a key placed at (org, team). */
export function assertKeyInScope(
  actor: AdminActor,
  place: { org_id?: string | null; team_id?: string | null },
): void {
  if (actor.role === 'admin') return;
  if (actor.role === 'org_admin' && place.org_id === actor.orgId) return;
  if (actor.role === 'team_admin' && place.team_id === actor.teamId) return;
  throw new ForbiddenError(`${OUTSIDE} ${actor.role === 'org_admin' ? 'organization' : 'team'}'s keys.`);
}

/** 403 unless the actor may manage keys of the team (`write`: change the team itself). */
export function assertTeamInScope(
  actor: AdminActor,
  team: { id: string; org_id: string | null },
  write = false,
): void {
  if (actor.role === 'admin') return;
  if (actor.role === 'org_admin' && team.org_id === actor.orgId) return;
  if (actor.role === 'team_admin' && team.id === actor.teamId && !write) return;
  throw new ForbiddenError(
    write && actor.role === 'team_admin'
      ? 'A team admin key cannot change teams (their limits are set by an org or global admin).'
      : `${OUTSIDE} ${actor.role === 'org_admin' ? 'organization' : 'team'}.`,
  );
}

/** 403 unless the actor may read the organization. */
export function assertOrgInScope(actor: AdminActor, orgId: string): void {
  if (actor.role === 'admin' || actor.orgId === orgId) return;
  throw new ForbiddenError(`${OUTSIDE} organization.`);
}

const RANK = { user: 0, team_admin: 1, org_admin: 2, admin: 3 } as const;

/** 403 unless the actor may hand out `role` (strictly below its own; the global admin any). */
export function assertRoleGrant(actor: AdminActor, role: 'user' | 'team_admin' | 'org_admin'): void {
  if (actor.role === 'admin' || RANK[role] < RANK[actor.role]) return;
  throw new ForbiddenError(`A ${actor.role} key cannot create or change keys with the role "${role}".`);
}

/** The audit log's actor: `admin@<ip>`, or `<role>:<key id>@<ip>` for an org or team admin key. */
export function auditActor(request: AdminRequest): Actor {
  const who = request.actor.role === 'admin' ? 'admin' : `${request.actor.role}:${request.actor.keyId}`;
  return { actor: `${who}@${request.ip}`, requestId: request.id };
}
