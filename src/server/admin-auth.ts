/**
 * Admin authentication: every `/admin/*` route needs `Authorization: Bearer <GATEWAY_ADMIN_KEY>`, or a
 * console session (signed in with that key) plus its CSRF token on calls that change something. The key is
 * compared in constant time (over SHA-256 digests, so its length does not leak either). Without
 * GATEWAY_ADMIN_KEY the admin API (and the console's sign-in) is disabled and answers 401 saying so.
 *
 * Both ways resolve to an `AdminActor` through `actorForKey`, the one place org and team admin keys are
 * recognised (issue 16): a console session acts exactly as the key it was opened with.
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

function disabled(adminKey: string | null): asserts adminKey is string {
  if (!adminKey) {
    throw new AuthenticationError('The admin API is disabled: set GATEWAY_ADMIN_KEY to enable it.');
  }
}

/** @throws AuthenticationError (401) unless the header carries the admin key. */
export function checkAdmin(adminKey: string | null, authorization: string | undefined): void {
  disabled(adminKey);
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match?.[1]) {
    throw new AuthenticationError(
      'Admin endpoints need the admin key: Authorization: Bearer <GATEWAY_ADMIN_KEY>.',
    );
  }
  if (!timingSafeEqual(digest(match[1].trim()), digest(adminKey))) {
    throw new AuthenticationError('Invalid admin key.');
  }
}

/** What an admin request presents. */
export interface AdminCredentials {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface AdminAuth {
  /** The actor an admin key stands for. @throws AuthenticationError (401) for anything else. */
  actorForKey(key: string): Promise<AdminActor>;
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
export function createAdminAuth(adminKey: string | null, sessions: ConsoleSessions | null): AdminAuth {
  const stillValid = (s: ConsoleSession) =>
    s.actor.role !== 'admin' || (adminKey !== null && s.keyDigest === hash(adminKey));
  const actorForKey = async (key: string): Promise<AdminActor> => {
    checkAdmin(adminKey, `Bearer ${key}`);
    return GLOBAL_ADMIN;
  };
  const session = async (request: AdminCredentials) => {
    const cookie = request.headers.cookie;
    const id = cookieValue(typeof cookie === 'string' ? cookie : undefined, SESSION_COOKIE);
    if (id === null || sessions === null) return null;
    const found = await sessions.get(id);
    // Opened with a key that no longer works (GATEWAY_ADMIN_KEY changed): the session is over. Org and team
    // admin keys (issue 16) add their own check here (revoked or expired key).
    if (!found || !stillValid(found)) return null;
    return { id, session: found };
  };
  return {
    actorForKey,
    session,
    async authorize(request) {
      const authorization = request.headers.authorization;
      if (typeof authorization === 'string' || sessions === null) {
        checkAdmin(adminKey, typeof authorization === 'string' ? authorization : undefined);
        return GLOBAL_ADMIN;
      }
      disabled(adminKey);
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
