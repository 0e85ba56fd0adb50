/**
 * Console sessions (DESIGN §18): signing in exchanges an admin key for a random session id, sent back as an
 * HttpOnly, SameSite=Strict cookie. The session lives server-side in the database (`console_sessions`,
 * migration 0010) — shared by every worker and instance, ended by signing out or its expiry — keyed by the
 * SHA-256 of its id, so the table never holds a usable cookie. Each session has a CSRF token the console
 * sends as `X-CSRF-Token` on every call that changes something.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AdminActor } from '../core/feature.js';
import type { Database } from '../stores/database.js';

export const SESSION_COOKIE = 'gw_console';
export const CSRF_HEADER = 'x-csrf-token';

export interface ConsoleSession {
  readonly actor: AdminActor;
  /** Hex SHA-256 of the admin key it was opened with: the session ends when that key no longer works. */
  readonly keyDigest: string;
  readonly csrfToken: string;
  /** Wall-clock ms. */
  readonly expiresAt: number;
}

/** Hex SHA-256 (session ids, key digests). */
export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Whether `given` is the session's CSRF token (constant time). */
export function csrfMatches(session: ConsoleSession, given: string | undefined): boolean {
  if (typeof given !== 'string' || given.length !== session.csrfToken.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(session.csrfToken));
}

/** Sessions in the database; `ttlMs`: how long a session lasts after sign-in. */
export class ConsoleSessions {
  readonly ttlMs: number;
  private readonly database: () => Database;
  private readonly clock: Pick<Clock, 'wallNow'>;

  constructor(options: { database: () => Database; clock: Pick<Clock, 'wallNow'>; ttlMs: number }) {
    this.database = options.database;
    this.clock = options.clock;
    this.ttlMs = options.ttlMs;
  }

  /** A new session for `actor`: the id goes in the cookie, never anywhere else. Expired ones are purged. */
  async create(actor: AdminActor, key: string): Promise<{ id: string; session: ConsoleSession }> {
    const { db } = this.database();
    const now = this.clock.wallNow();
    const id = randomBytes(32).toString('base64url');
    const session: ConsoleSession = {
      actor,
      keyDigest: hash(key),
      csrfToken: randomBytes(24).toString('base64url'),
      expiresAt: now + this.ttlMs,
    };
    await db.deleteFrom('console_sessions').where('expires_at', '<=', new Date(now)).execute();
    await db
      .insertInto('console_sessions')
      .values({
        id_hash: hash(id),
        actor: JSON.stringify(actor),
        key_digest: session.keyDigest,
        csrf_token: session.csrfToken,
        created_at: new Date(now),
        expires_at: new Date(session.expiresAt),
      })
      .execute();
    return { id, session };
  }

  /** The live session with this id, or null (unknown, signed out or expired). */
  async get(id: string): Promise<ConsoleSession | null> {
    if (id.length === 0 || id.length > 128) return null;
    const row = await this.database()
      .db.selectFrom('console_sessions')
      .select(['actor', 'key_digest', 'csrf_token', 'expires_at'])
      .where('id_hash', '=', hash(id))
      .where('expires_at', '>', new Date(this.clock.wallNow()))
      .executeTakeFirst();
    if (!row) return null;
    return {
      actor: JSON.parse(row.actor) as AdminActor,
      keyDigest: row.key_digest,
      csrfToken: row.csrf_token,
      expiresAt: new Date(row.expires_at).getTime(),
    };
  }

  /** Ends the session (signing out). */
  async delete(id: string): Promise<void> {
    await this.database().db.deleteFrom('console_sessions').where('id_hash', '=', hash(id)).execute();
  }
}

/** The value of cookie `name` in a `Cookie` header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The `Set-Cookie` value of a session (`maxAgeSeconds` 0 clears it). Secure when served over HTTPS. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
