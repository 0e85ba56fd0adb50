import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkBind, isLoopbackHost, openBindWarning } from './bind.js';

test('loopback addresses', () => {
  for (const host of [
    '127.0.0.1',
    '127.1.2.3',
    'localhost',
    'LOCALHOST',
    '::1',
    '[::1]',
    '::ffff:127.0.0.1',
  ]) {
    assert.ok(isLoopbackHost(host), host);
  }
  for (const host of ['0.0.0.0', '::', '10.0.0.1', 'gateway.internal', '128.0.0.1', '127.0.0.1.nip.io']) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

test('implicit no-auth: default host becomes loopback; an explicit public host is refused', () => {
  let set: string | undefined;
  const base = { mode: 'none', modeExplicit: false, host: '0.0.0.0', hostEnv: undefined };
  assert.deepEqual(
    checkBind({ ...base, hostGiven: false }, (h) => (set = h)),
    [],
  );
  assert.equal(set, '127.0.0.1');
  const problems = checkBind({ ...base, hostGiven: true, hostEnv: 'HOST' }, () => assert.fail('no change'));
  assert.equal(problems.length, 1);
  assert.match(problems[0] as string, /^server\.host \(from env HOST\): "0\.0\.0\.0"/);
});

test('explicit none or keys: any host; the warning is for none off loopback only', () => {
  const noop = () => assert.fail('host left alone');
  assert.deepEqual(
    checkBind({ mode: 'none', modeExplicit: true, host: '0.0.0.0', hostGiven: true, hostEnv: 'HOST' }, noop),
    [],
  );
  assert.deepEqual(
    checkBind(
      { mode: 'keys', modeExplicit: false, host: '0.0.0.0', hostGiven: false, hostEnv: undefined },
      noop,
    ),
    [],
  );
  assert.match(
    openBindWarning({ auth: { mode: 'none' }, server: { host: '0.0.0.0' } }) ?? '',
    /GATEWAY_ADMIN_KEY/,
  );
  assert.equal(openBindWarning({ auth: { mode: 'none' }, server: { host: '127.0.0.1' } }), null);
  assert.equal(openBindWarning({ auth: { mode: 'keys' }, server: { host: '0.0.0.0' } }), null);
});
