/**
 * Admin authentication (DESIGN §7): every `/admin/*` route needs `Authorization: Bearer <key>` where the
 * key is the global admin key (`GATEWAY_ADMIN_KEY`, compared in constant time over SHA-256 digests, so its
 * length does not leak either), or a gateway key whose role is `org_admin` or `team_admin`; or a console
 * session opened with such a key, plus its CSRF token on calls that change something. Org and team admins
 * reach only the routes marked `access: 'tenant'` (others answer 403) and see only their own subtree.
 * Without GATEWAY_ADMIN_KEY and without such a key the admin API answers 401 saying how to enable it.
 *
 * Both ways resolve to an `AdminActor` through `actorForKey`: a console session acts exactly as the key it
 * was opened with, and ends when that key stops working (revoked, expired, role changed, admin key rotated).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, GatewayError } from '../core/errors.js';
import { type AdminActor, GLOBAL_ADMIN } from '../core/feature.js';
import {
  type ConsoleSession,
  type ConsoleSessions,
  CSRF_HEADER,
  cookieValue,
  csrfMatches,
  hash,
  SESSION_COOKIE,
} from './console-sessions.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Per-address throttling of failed admin keys (the key store's `FailureThrottle`, decision 0085). */
export interface AdminThrottle {
  /** @throws GatewayRateLimitError (429) while the address has no failed attempt left. */
  assertAllowed(source: string): void;
  failed(source: string): void;
}

/** Org and team admin keys (issue 16), as the key store knows them. */
export interface TenantAdminLookup {
  /** The actor of an `Authorization` header's key; null for a valid key without an admin role. */
  adminActorOf(authorization: string, source: string): Promise<AdminActor | null>;
  /** The actor of a key by its SHA-256 hex digest, if it is still an active admin key; else null. */
  adminActorByDigest(keyDigest: string): AdminActor | null;
}

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
  throttle: AdminThrottle | null = null,
): Promise<AdminActor> {
  const token = tokenOf(authorization);
  if (adminKey && timingSafeEqual(digest(token), digest(adminKey))) return GLOBAL_ADMIN;
  if (!tenant || !token.startsWith('sk-gw-')) {
    // A wrong admin key: counted per address; once its attempts are spent, 429 (the right key never is).
    throttle?.assertAllowed(source);
    if (adminKey) throttle?.failed(source);
    checkAdmin(adminKey, authorization);
    return GLOBAL_ADMIN; // not reached: checkAdmin threw
  }
  const actor = await tenant.adminActorOf(`Bearer ${token}`, source);
  // A key without an admin role is no admin key at all: 401, like a wrong key.
  if (!actor) throw new AuthenticationError('Invalid admin key.');
  return actor;
}

/** The session's actor is still what its key stands for (a changed role, place or tier ends the session). */
function sameActor(a: AdminActor, b: AdminActor | null): boolean {
  return (
    b !== null &&
    a.role === b.role &&
    a.keyId === b.keyId &&
    a.orgId === b.orgId &&
    a.teamId === b.teamId &&
    a.tier === b.tier
  );
}

/** What an admin request presents. */
export interface AdminCredentials {
  readonly method: string;
  /** The client's address (per-source throttling of failed attempts). */
  readonly ip?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface AdminAuth {
  /** The actor an admin key stands for. @throws AuthenticationError (401) for anything else. */
  actorForKey(key: string, source?: string): Promise<AdminActor>;
  /**
   * The actor of an admin API request: its bearer key, else its console session (a call that changes
   * something must carry the session's CSRF token). @throws AuthenticationError (401), or 403 for a
   * missing or wrong CSRF token.
   */
  authorize(request: AdminCredentials): Promise<AdminActor>;
  /** The live console session of a request's cookie, or null. */
  session(request: AdminCredentials): Promise<{ id: string; session: ConsoleSession } | null>;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Admin authentication over the admin key and (when given) the console's sessions. */
export function createAdminAuth(
  adminKey: string | null,
  sessions: ConsoleSessions | null,
  tenant: TenantAdminLookup | null = null,
  throttle: AdminThrottle | null = null,
): AdminAuth {
  const stillValid = (s: ConsoleSession) =>
    s.actor.role === 'admin'
      ? adminKey !== null && s.keyDigest === hash(adminKey)
      : sameActor(s.actor, tenant?.adminActorByDigest(s.keyDigest) ?? null);
  const actorForKey = (key: string, source = ''): Promise<AdminActor> =>
    resolveAdmin(adminKey, `Bearer ${key}`, source, tenant, throttle);
  const session = async (request: AdminCredentials) => {
    const cookie = request.headers.cookie;
    const id = cookieValue(typeof cookie === 'string' ? cookie : undefined, SESSION_COOKIE);
    if (id === null || sessions === null) return null;
    const found = await sessions.get(id);
    // Opened with a key that no longer works (GATEWAY_ADMIN_KEY changed; an org/team admin key revoked,
    // expired or given another role): the session is over.
    if (!found || !stillValid(found)) return null;
    return { id, session: found };
  };
  return {
    actorForKey,
    session,
    async authorize(request) {
      const authorization = request.headers.authorization;
      if (typeof authorization === 'string' || sessions === null) {
        return resolveAdmin(
          adminKey,
          typeof authorization === 'string' ? authorization : undefined,
          request.ip ?? '',
          tenant,
          throttle,
        );
      }
      if (!adminKey && !tenant) checkAdmin(adminKey, undefined);
      const found = await session(request);
      if (found === null) {
        const cookie = request.headers.cookie;
        if (typeof cookie === 'string' && cookieValue(cookie, SESSION_COOKIE) !== null) {
          throw new AuthenticationError('The console session has expired or was signed out; sign in again.');
        }
        checkAdmin(adminKey, undefined);
      }
      const current = found as { session: ConsoleSession };
      if (!SAFE_METHODS.has(request.method)) {
        const token = request.headers[CSRF_HEADER];
        if (!csrfMatches(current.session, typeof token === 'string' ? token : undefined)) {
          throw new GatewayError(
            'A console call that changes something needs the session’s X-CSRF-Token header.',
            'csrf_token_invalid',
            403,
            'permission_error',
          );
        }
      }
      return current.session.actor;
    },
  };
}
