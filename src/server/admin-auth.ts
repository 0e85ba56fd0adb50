/**
 * Admin authentication (DESIGN §7): every `/admin/*` route needs `Authorization: Bearer <key>` where the
 * key is the global admin key (`GATEWAY_ADMIN_KEY`, compared in constant time over SHA-256 digests, so its
 * length does not leak either), or a gateway key whose role is `org_admin` or `team_admin`. Those reach
 * only the routes marked `access: 'tenant'` (others answer 403) and see only their own subtree. Without
 * GATEWAY_ADMIN_KEY and without such a key the admin API answers 401 saying how to enable it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError } from '../core/errors.js';
import { type AdminActor, GLOBAL_ADMIN } from '../core/feature.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Resolves an org or team admin key to its actor; null for a valid key without an admin role. */
export type TenantAdminLookup = (authorization: string, source: string) => Promise<AdminActor | null>;

/** @throws AuthenticationError (401) unless the header carries the admin key. */
export function checkAdmin(adminKey: string | null, authorization: string | undefined): void {
  if (!adminKey) {
    throw new AuthenticationError('The admin API is disabled: set GATEWAY_ADMIN_KEY to enable it.');
  }
  const token = tokenOf(authorization);
  if (!timingSafeEqual(digest(token), digest(adminKey))) {
    throw new AuthenticationError('Invalid admin key.');
  }
}

function tokenOf(authorization: string | undefined): string {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match?.[1]) {
    throw new AuthenticationError(
      'Admin endpoints need the admin key: Authorization: Bearer <GATEWAY_ADMIN_KEY>.',
    );
  }
  return match[1].trim();
}

/**
 * Who calls an admin route: the global admin, or an org/team admin key (when `tenant` is given).
 * @throws AuthenticationError (401) for anything else (a key without an admin role included).
 */
export async function resolveAdmin(
  adminKey: string | null,
  authorization: string | undefined,
  source: string,
  tenant: TenantAdminLookup | null,
): Promise<AdminActor> {
  const token = tokenOf(authorization);
  if (adminKey && timingSafeEqual(digest(token), digest(adminKey))) return GLOBAL_ADMIN;
  if (!tenant || !token.startsWith('sk-gw-')) {
    checkAdmin(adminKey, authorization);
    return GLOBAL_ADMIN; // not reached: checkAdmin threw
  }
  const actor = await tenant(`Bearer ${token}`, source);
  // A key without an admin role is no admin key at all: 401, like a wrong key.
  if (!actor) throw new AuthenticationError('Invalid admin key.');
  return actor;
}
