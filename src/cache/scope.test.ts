import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Principal } from '../auth/principal.js';
import { type CacheScope, cacheScopeId } from './scope.js';

const principal = (extra: Partial<Principal> = {}): Principal => ({
  userId: 'u1',
  keyId: 'k1',
  tier: 'free',
  allowedModels: null,
  ...extra,
});

describe('cache scope', () => {
  test('team (default) is the team when the key has one, else the key', () => {
    assert.equal(cacheScopeId(principal(), 'team'), 'key:k1');
    assert.equal(cacheScopeId(principal({ teamId: null, orgId: 'o1' }), 'team'), 'key:k1');
    assert.equal(cacheScopeId(principal({ teamId: 't1', orgId: 'o1' }), 'team'), 'team:t1');
  });

  test('org falls back to the team, then the key', () => {
    assert.equal(cacheScopeId(principal({ teamId: 't1', orgId: 'o1' }), 'org'), 'org:o1');
    assert.equal(cacheScopeId(principal({ teamId: 't1' }), 'org'), 'team:t1');
    assert.equal(cacheScopeId(principal(), 'org'), 'key:k1');
  });

  test('key ignores team and org; global ignores everything', () => {
    assert.equal(cacheScopeId(principal({ teamId: 't1', orgId: 'o1' }), 'key'), 'key:k1');
    assert.equal(cacheScopeId(principal({ keyId: 'k2', teamId: 't1' }), 'global'), 'global');
  });

  test('two keys without a team never share a scope, at any level but global', () => {
    for (const scope of ['key', 'team', 'org'] as CacheScope[]) {
      assert.notEqual(
        cacheScopeId(principal({ keyId: 'a' }), scope),
        cacheScopeId(principal({ keyId: 'b' }), scope),
      );
    }
  });

  test('without a key (auth.mode: none) there is one tenant: every request shares one scope', () => {
    const open = principal({ keyId: null, userId: 'alice' });
    for (const scope of ['key', 'team', 'org', 'global'] as CacheScope[]) {
      assert.equal(cacheScopeId(open, scope), 'global');
      assert.equal(cacheScopeId({ ...open, userId: 'bob' }, scope), 'global');
    }
    assert.equal(cacheScopeId(null, 'team'), 'global');
  });
});
