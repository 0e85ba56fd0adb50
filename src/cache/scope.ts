/**
 * The cache scope (DESIGN §7 Isolation): cached answers, semantic matches and coalesced in-flight calls are
 * shared only between requests of the same scope. The scope id goes into every cache key (exact entries,
 * semantic partitions, single-flight groups), so two scopes can never meet, whatever the store.
 *
 * `cache.scope` (CACHE_SCOPE) picks the level: `key`, `team` (default; the key where the principal has no
 * team), `org` (else team, else key) or `global` (everyone shares: an explicit choice, see docs/caching.md).
 * Without a key (`auth.mode: none`) there is one tenant, and every request shares one scope.
 */
import type { Principal } from '../auth/principal.js';

export type CacheScope = 'key' | 'team' | 'org' | 'global';

/** The one scope of `auth.mode: none` (no key: a single tenant) and of `cache.scope: global`. */
export const SHARED_SCOPE = 'global';

/**
 * The scope id of a request's principal: `global`, `key:<key id>`, `team:<team id>` or `org:<org id>`.
 * Ids only, never a secret (the key id is the database id or the config key's name, not the key).
 *
 * @example
 * cacheScopeId({ keyId: 'k1', teamId: null, … }, 'team') // 'key:k1'
 * cacheScopeId({ keyId: 'k1', teamId: 't9', … }, 'team') // 'team:t9'
 */
export function cacheScopeId(principal: Principal | null, scope: CacheScope): string {
  if (scope === 'global' || !principal?.keyId) return SHARED_SCOPE;
  const key = `key:${principal.lineageId ?? principal.keyId}`;
  if (scope === 'key') return key;
  const team = principal.teamId ? `team:${principal.teamId}` : key;
  if (scope === 'team') return team;
  return principal.orgId ? `org:${principal.orgId}` : team;
}
