import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from './load.js';
import { publicConfig } from './public.js';
import { redisConfigured } from './redis-schema.js';

function problemsOf(env: Record<string, string>, yamlText?: string): string[] {
  try {
    loadConfig({ env, yamlText });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('redis section (decision 0098)', () => {
  test('default: standalone, no Redis (memory backends)', () => {
    const { redis } = loadConfig({ env: {} });
    assert.equal(redis.mode, 'standalone');
    assert.equal(redisConfigured(redis), false);
    assert.equal(redisConfigured(loadConfig({ env: { REDIS_URL: 'redis://r:6379' } }).redis), true);
  });

  test('cluster: seed nodes from a comma-separated REDIS_CLUSTER_NODES', () => {
    const { redis } = loadConfig({
      env: {
        REDIS_MODE: 'cluster',
        REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-b:7001 ,[::1]:7002',
        REDIS_TLS: 'true',
      },
    });
    assert.deepEqual(redis.cluster_nodes, ['10.0.0.1:7000', 'redis-b:7001', '[::1]:7002']);
    assert.equal(redis.tls, true);
    assert.equal(redisConfigured(redis), true);
  });

  test('sentinel: the Sentinels and the master name, from the file or the environment', () => {
    const { redis } = loadConfig({
      env: { REDIS_SENTINEL_NAME: 'gw-master' },
      yamlText: 'redis:\n  mode: sentinel\n  sentinels: ["s1:26379", "s2:26379"]\n  username: gw\n',
    });
    assert.deepEqual(redis.sentinels, ['s1:26379', 's2:26379']);
    assert.equal(redis.sentinel_name, 'gw-master');
    assert.equal(redis.username, 'gw');
  });

  test('every missing or contradictory setting is named, with the variable to set', () => {
    const cluster = problemsOf({ REDIS_MODE: 'cluster', REDIS_URL: 'redis://r:6379' });
    assert.ok(
      cluster.some((p) => /^redis\.cluster_nodes: required .*REDIS_CLUSTER_NODES/.test(p)),
      cluster.join('\n'),
    );
    assert.ok(cluster.some((p) => /^redis\.url: set, but redis\.mode is "cluster"/.test(p)));
    const sentinel = problemsOf({ REDIS_MODE: 'sentinel' });
    assert.ok(sentinel.some((p) => /^redis\.sentinels: required .*REDIS_SENTINELS/.test(p)));
    assert.ok(sentinel.some((p) => /^redis\.sentinel_name: required .*REDIS_SENTINEL_NAME/.test(p)));
    const forgotMode = problemsOf({ REDIS_CLUSTER_NODES: 'a:1' });
    assert.ok(
      forgotMode.some((p) => /set REDIS_MODE=cluster/.test(p)),
      forgotMode.join('\n'),
    );
    const bad = problemsOf({ REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: 'no-port,a:1' });
    assert.ok(
      bad.some((p) => p.startsWith('redis.cluster_nodes.0 (from env REDIS_CLUSTER_NODES)')),
      bad.join('\n'),
    );
    assert.ok(
      problemsOf({ REDIS_MODE: 'ring' }).some((p) => p.startsWith('redis.mode (from env REDIS_MODE)')),
    );
  });

  test('a key prefix with a brace is refused (it would become the hash tag of every key)', () => {
    const problems = problemsOf({ REDIS_KEY_PREFIX: 'gw{1}:' });
    assert.ok(problems.some((p) => p.startsWith('redis.key_prefix (from env REDIS_KEY_PREFIX)')));
  });

  test('passwords are not configuration: a password field in the file is refused, the admin view has none', () => {
    const problems = problemsOf({}, 'redis:\n  password: hunter2\n');
    assert.ok(
      problems.some((p) => p.startsWith('redis.password: ')),
      problems.join('\n'),
    );
    const config = loadConfig({
      env: {
        REDIS_MODE: 'sentinel',
        REDIS_SENTINELS: 's:26379',
        REDIS_SENTINEL_NAME: 'm',
        REDIS_PASSWORD: 'pw-SECRET',
      },
    });
    assert.ok(!JSON.stringify(publicConfig(config)).includes('pw-SECRET'));
  });
});
