import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../config/load.js';
import { parseHostPort } from './redis-client.js';
import { redisSettings } from './redis-settings.js';

test('no Redis configured: no settings (memory backends)', () => {
  assert.equal(redisSettings(loadConfig({ env: {} }).redis, {}), null);
});

test('each mode becomes its target; passwords come from the environment, the CA from its file', () => {
  const env = {
    REDIS_MODE: 'sentinel',
    REDIS_SENTINELS: 's1:26379,[::1]:26380',
    REDIS_SENTINEL_NAME: 'gw',
    REDIS_USERNAME: 'gateway',
    REDIS_PASSWORD: 'pw-SECRET',
    REDIS_SENTINEL_PASSWORD: 'spw-SECRET',
    REDIS_TLS: 'true',
    REDIS_TLS_CA_FILE: '/etc/redis/ca.pem',
  };
  const read: string[] = [];
  const settings = redisSettings(loadConfig({ env }).redis, env, (path) => {
    read.push(path);
    return 'PEM';
  });
  assert.deepEqual(settings?.target, {
    mode: 'sentinel',
    sentinels: ['s1:26379', '[::1]:26380'],
    name: 'gw',
  });
  assert.equal(settings?.access?.password, 'pw-SECRET');
  assert.equal(settings?.access?.sentinelPassword, 'spw-SECRET');
  assert.equal(settings?.access?.username, 'gateway');
  assert.equal(settings?.access?.tls, true);
  assert.equal(settings?.access?.ca, 'PEM');
  assert.deepEqual(read, ['/etc/redis/ca.pem']);
  const cluster = { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: 'a:7000,b:7001' };
  assert.deepEqual(redisSettings(loadConfig({ env: cluster }).redis, cluster)?.target, {
    mode: 'cluster',
    nodes: ['a:7000', 'b:7001'],
  });
  const single = { REDIS_URL: 'redis://r:6379/2' };
  assert.deepEqual(redisSettings(loadConfig({ env: single }).redis, single)?.target, {
    mode: 'standalone',
    url: 'redis://r:6379/2',
  });
});

test('an unreadable CA file stops the start with the setting and the path', () => {
  const env = { REDIS_URL: 'rediss://r:6380', REDIS_TLS_CA_FILE: '/nope/ca.pem' };
  assert.throws(
    () => redisSettings(loadConfig({ env }).redis, env),
    /redis\.tls_ca_file: cannot read \/nope\/ca\.pem/,
  );
});

test('host:port addresses, IPv6 in brackets', () => {
  assert.deepEqual(parseHostPort('redis-0.redis:6379'), { host: 'redis-0.redis', port: 6379 });
  assert.deepEqual(parseHostPort('[fd00::1]:7000'), { host: 'fd00::1', port: 7000 });
});
