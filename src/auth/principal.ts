/**
 * Who is calling. `gateway.ts` picks an `Authenticator` by `auth.mode` (`none` here, `keys` in
 * `key-store.ts`); the HTTP layer calls it once per request and checks model permissions with
 * `assertModelAllowed`.
 */
import { hash } from 'node:crypto';
import { PermissionDeniedError, ValidationError } from '../core/errors.js';
import { holdsGatewayKey } from '../core/secret-shape.js';
import type { EndUserLimits, Level } from '../tenancy/limits.js';

export interface Principal {
  /** End user the request is accounted to. */
  readonly userId: string;
  /** Gateway key id (database id, or the name of a config key), when the caller used one. Never the secret. */
  readonly keyId: string | null;
  /**
   * The first key of the key's rotation chain (absent: the key itself): budgets, rate limits, the cache
   * scope and stored responses are kept under it, so a rotated key goes on with them (decision 0209).
   */
  readonly lineageId?: string | null;
  readonly tier: string;
  /** Models (or aliases) the key may use; null = all. */
  readonly allowedModels: ReadonlySet<string> | null;
  /** Team the key belongs to (null/absent = none; teams come with tenancy, DESIGN §7). Scopes the cache. */
  readonly teamId?: string | null;
  /** Organization the key belongs to (null/absent = none). Scopes the cache with `cache.scope: org`. */
  readonly orgId?: string | null;
  /** USD budgets attached to the key (null/absent = none); enforced by the budget hook. */
  readonly budgets?: { readonly dailyUsd: number | null; readonly monthlyUsd: number | null };
  /** Guardrail policy names attached to the key (absent/empty = none beyond the global default). */
  readonly guardrails?: readonly string[];
  /** The key's role (tenancy, DESIGN §7): `org_admin` and `team_admin` keys may call tenant admin routes. */
  readonly role?: 'user' | 'team_admin' | 'org_admin';
  /**
   * The tenancy levels the request belongs to, with their limits (org, team, key; the end user added once
   * named): every one must admit the request (rate limits and budgets).
   */
  readonly levels?: readonly Level[];
  /** Set when the key may name its end users (`user` field, `X-User-ID`): the limits each end user gets. */
  readonly endUsers?: EndUserLimits | null;
  /** Redis hash tag of the request's counters (`tenancy/limits.ts` hashTagOf); absent = the user id. */
  readonly tag?: string;
}

/**
 * Who owns a request (its feedback, its semantic-hit note): the API key, else the end user. `keyId` is the
 * key's rotation chain (its first key, decision 0209), so a rotated key owns its predecessor's requests.
 */
export function requestScope(keyId: string | null, userId: string): string {
  return keyId ? `key:${keyId}` : `user:${userId}`;
}

/** `requestScope` of a caller: its key's rotation chain, else its end user. */
export function principalScope(p: Pick<Principal, 'keyId' | 'lineageId' | 'userId'>): string {
  return requestScope(p.lineageId ?? p.keyId, p.userId);
}

export interface AuthInput {
  authorization: string | undefined;
  userIdHeader: string | undefined;
  /** The client's address (per-source throttling of failed attempts); absent = one shared source. */
  source?: string | undefined;
}

export interface Authenticator {
  readonly mode: 'none' | 'keys';
  /** Sync on the hot path (a map lookup); a promise only when an unknown key needs a database lookup. */
  authenticate(input: AuthInput): Principal | Promise<Principal>;
}

/** Longest `X-User-ID` (and user id of a key). */
export const MAX_USER_ID_LENGTH = 128;

/**
 * The credential a request carries: `Authorization` (Bearer), else Anthropic's `x-api-key` header (what
 * the Anthropic SDK sends) taken as a bearer token. Either holds a gateway key.
 */
export function authorizationOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') return authorization;
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? `Bearer ${apiKey}` : undefined;
}

const USER_ID = /^[\w.@:+-]{1,128}$/;

/**
 * `X-User-ID` when it is a sane identifier, else `anonymous`.
 * @throws ValidationError (422, param `X-User-ID`) when it is longer than MAX_USER_ID_LENGTH.
 */
function userFromHeader(header: string | undefined): string {
  if (header && header.length > MAX_USER_ID_LENGTH) {
    throw new ValidationError(
      `X-User-ID must NOT have more than ${MAX_USER_ID_LENGTH} characters.`,
      'X-User-ID',
    );
  }
  return header && USER_ID.test(header) && !holdsGatewayKey(header) ? header : 'anonymous';
}

/** `auth.mode: none` — local use: no key needed, the user comes from `X-User-ID`. */
export function createOpenAuthenticator(): Authenticator {
  return {
    mode: 'none',
    authenticate: ({ userIdHeader }) => ({
      userId: userFromHeader(userIdHeader),
      keyId: null,
      tier: 'free',
      allowedModels: null,
    }),
  };
}

/** SHA-256 hex of a key, as stored. */
export function hashKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/** The token of an `Authorization: Bearer <token>` header. */
export function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** 403 unless the principal may use the requested model name. */
export function assertModelAllowed(principal: Principal, model: string): void {
  if (principal.allowedModels && !principal.allowedModels.has(model)) {
    throw new PermissionDeniedError(`This API key is not allowed to use the model "${model}".`);
  }
}
