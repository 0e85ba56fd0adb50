/**
 * Who is calling. `main.ts` picks an `Authenticator` by `auth.mode`; the HTTP layer calls it once per
 * request and checks model permissions with `assertModelAllowed`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { StaticKeyConfig } from '../config/schema.js';
import { AuthenticationError, PermissionDeniedError } from '../errors.js';

export interface Principal {
  /** End user the request is accounted to. */
  readonly userId: string;
  /** Gateway key id (name), when the caller used one. */
  readonly keyId: string | null;
  readonly tier: string;
  /** Models (or aliases) the key may use; null = all. */
  readonly allowedModels: ReadonlySet<string> | null;
  /** USD budgets attached to the key (null/absent = none); enforced by the budget hook. */
  readonly budgets?: { readonly dailyUsd: number | null; readonly monthlyUsd: number | null };
}

export interface AuthInput {
  authorization: string | undefined;
  userIdHeader: string | undefined;
}

export interface Authenticator {
  readonly mode: 'none' | 'keys';
  authenticate(input: AuthInput): Principal;
}

const USER_ID = /^[\w.@:+-]{1,128}$/;

/** `X-User-ID` when it is a sane identifier, else `anonymous`. */
function userFromHeader(header: string | undefined): string {
  return header && USER_ID.test(header) ? header : 'anonymous';
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
  return createHash('sha256').update(key).digest('hex');
}

interface StoredKey {
  hash: Buffer;
  config: StaticKeyConfig;
  expiresAt: number | null;
  principal: Principal;
}

/**
 * `auth.mode: keys` with keys listed in config by SHA-256 hash. Keys are looked up by hash (a map, so no
 * timing leak from string comparison of the secret) and the hash is compared again in constant time.
 */
export function createStaticKeyAuthenticator(
  keys: readonly StaticKeyConfig[],
  now: () => number = Date.now,
): Authenticator {
  const byHash = new Map<string, StoredKey>();
  for (const config of keys) {
    byHash.set(config.key_sha256, {
      hash: Buffer.from(config.key_sha256, 'hex'),
      config,
      expiresAt: config.expires_at ? Date.parse(config.expires_at) : null,
      principal: {
        userId: config.user_id,
        keyId: config.name,
        tier: config.tier,
        allowedModels: config.allowed_models.length > 0 ? new Set(config.allowed_models) : null,
      },
    });
  }
  return {
    mode: 'keys',
    authenticate({ authorization }) {
      const token = bearer(authorization);
      if (!token) throw new AuthenticationError();
      const digest = hashKey(token);
      const stored = byHash.get(digest);
      if (!stored || !timingSafeEqual(stored.hash, Buffer.from(digest, 'hex'))) {
        throw new AuthenticationError('Invalid API key.');
      }
      if (stored.config.revoked) throw new AuthenticationError('This API key has been revoked.');
      if (stored.expiresAt !== null && stored.expiresAt <= now())
        throw new AuthenticationError('This API key has expired.');
      return stored.principal;
    },
  };
}

function bearer(header: string | undefined): string | undefined {
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
