import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AdminActor, GLOBAL_ADMIN } from '../core/feature.js';
import { createAdminAuth, type TenantAdminLookup } from './admin-auth.js';
import {
  type ConsoleSession,
  type ConsoleSessions,
  cookieValue,
  csrfMatches,
  hash,
  sessionCookie,
} from './console-sessions.js';

const ADMIN = 'admin-SECRET-unit-0123456789';
const TEAM: AdminActor = { role: 'team_admin', keyId: 'key_t', orgId: 'org_1', teamId: 'team_1' };
const SESSION: ConsoleSession = {
  actor: TEAM,
  keyDigest: 'team-key-digest',
  csrfToken: 'csrf-token-0123456789abcdef',
  expiresAt: 1,
};
const ADMIN_SESSION: ConsoleSession = { ...SESSION, actor: GLOBAL_ADMIN, keyDigest: hash(ADMIN) };

/** Sessions with one live id, `live`. */
const sessions = {
  get: async (id: string) => (id === 'live' ? SESSION : id === 'admin' ? ADMIN_SESSION : null),
} as unknown as ConsoleSessions;

const code = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'ok',
    (err: { status: number; code: string }) => `${err.status} ${err.code}`,
  );

describe('console cookies', () => {
  test('cookieValue finds its cookie among others, and nothing else', () => {
    assert.equal(cookieValue('a=1; gw_console=abc; b=2', 'gw_console'), 'abc');
    assert.equal(cookieValue('xgw_console=abc', 'gw_console'), null);
    assert.equal(cookieValue(undefined, 'gw_console'), null);
    assert.equal(cookieValue('gw_console=', 'gw_console'), '');
  });

  test('the session cookie is HttpOnly and SameSite=Strict, Secure only over HTTPS', () => {
    assert.equal(
      sessionCookie('v', 60, false),
      'gw_console=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    assert.match(sessionCookie('v', 60, true), /; Secure$/);
  });

  test('csrfMatches wants the exact token', () => {
    assert.equal(csrfMatches(SESSION, SESSION.csrfToken), true);
    assert.equal(csrfMatches(SESSION, `${SESSION.csrfToken}x`), false);
    assert.equal(csrfMatches(SESSION, undefined), false);
  });
});

/** The key store's view of admin keys: the team admin key is active while `teamKeyActive` holds. */
let teamKeyActive = true;
const tenant: TenantAdminLookup = {
  adminActorOf: async () => null,
  adminActorByDigest: (digest) => (digest === SESSION.keyDigest && teamKeyActive ? TEAM : null),
};

describe('admin authorisation', () => {
  const auth = createAdminAuth(ADMIN, sessions, tenant);
  const req = (method: string, headers: Record<string, string>) => ({ method, headers });

  test('the bearer admin key is the global admin; anything else is a 401', async () => {
    assert.equal((await auth.authorize(req('GET', { authorization: `Bearer ${ADMIN}` }))).role, 'admin');
    assert.equal(
      await code(auth.authorize(req('GET', { authorization: 'Bearer nope' }))),
      '401 invalid_api_key',
    );
    assert.equal(await code(auth.authorize(req('GET', {}))), '401 invalid_api_key');
    assert.equal(await code(auth.actorForKey('nope')), '401 invalid_api_key');
    assert.equal((await auth.actorForKey(ADMIN)).role, 'admin');
  });

  test('a live session acts as its actor; changes need its CSRF token', async () => {
    assert.deepEqual(await auth.authorize(req('GET', { cookie: 'gw_console=live' })), TEAM);
    assert.equal(
      await code(auth.authorize(req('POST', { cookie: 'gw_console=live' }))),
      '403 csrf_token_invalid',
    );
    assert.equal(
      await code(auth.authorize(req('DELETE', { cookie: 'gw_console=live', 'x-csrf-token': 'wrong' }))),
      '403 csrf_token_invalid',
    );
    const ok = req('PATCH', { cookie: 'gw_console=live', 'x-csrf-token': SESSION.csrfToken });
    assert.deepEqual(await auth.authorize(ok), TEAM);
  });

  test('a team admin session ends when its key stops working (revoked, expired, role changed)', async () => {
    assert.deepEqual(await auth.authorize(req('GET', { cookie: 'gw_console=live' })), TEAM);
    teamKeyActive = false;
    try {
      assert.equal(
        await code(auth.authorize(req('GET', { cookie: 'gw_console=live' }))),
        '401 invalid_api_key',
      );
    } finally {
      teamKeyActive = true;
    }
  });

  test('an unknown session is a 401; a bearer header wins over the cookie', async () => {
    assert.equal(
      await code(auth.authorize(req('GET', { cookie: 'gw_console=gone' }))),
      '401 invalid_api_key',
    );
    const both = req('POST', { cookie: 'gw_console=live', authorization: `Bearer ${ADMIN}` });
    assert.equal((await auth.authorize(both)).role, 'admin');
  });

  test('a global admin session ends when GATEWAY_ADMIN_KEY changes', async () => {
    assert.equal((await auth.authorize(req('GET', { cookie: 'gw_console=admin' }))).role, 'admin');
    const rotated = createAdminAuth('admin-SECRET-new-key-0123456789', sessions);
    assert.equal(
      await code(rotated.authorize(req('GET', { cookie: 'gw_console=admin' }))),
      '401 invalid_api_key',
    );
    assert.equal(await rotated.session(req('GET', { cookie: 'gw_console=admin' })), null);
  });

  test('without GATEWAY_ADMIN_KEY the admin API and sign-in are off, sessions or not', async () => {
    const off = createAdminAuth(null, sessions);
    assert.equal(await code(off.authorize(req('GET', { cookie: 'gw_console=live' }))), '401 invalid_api_key');
    assert.equal(await code(off.actorForKey('anything')), '401 invalid_api_key');
  });
});
