/**
 * The stores' addresses are parsed, not matched by prefix (audit G, F5): impossible ports and unparsable URLs
 * are configuration problems, listed with every other one, without the password.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostPortProblem, postgresUrlProblem, redisUrlProblem } from './address.js';
import { ConfigError, loadConfig } from './load.js';

function problemsOf(env: Record<string, string>, yamlText?: string): string[] {
  try {
    loadConfig({ env, yamlText });
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

describe('store addresses', () => {
  test('DATABASE_URL and REDIS_URL with an impossible port are listed together, with the other problems', () => {
    const problems = problemsOf({
      DATABASE_URL: 'postgres://app:pw-DO-NOT-LEAK@127.0.0.1:99999/gw',
      REDIS_URL: 'redis://:pw-DO-NOT-LEAK@127.0.0.1:0/13',
      PORT: 'abc',
    });
    assert.deepEqual(problems.toSorted(), [
      'database.url (from env DATABASE_URL): port 99999 is not from 1 to 65535',
      'redis.url (from env REDIS_URL): port 0 is not from 1 to 65535',
      'server.port (from env PORT): expected a whole number, got "abc"',
    ]);
  });

  test('Cluster nodes and Sentinels: each bad item is named, with its port', () => {
    const cluster = problemsOf({
      REDIS_MODE: 'cluster',
      REDIS_CLUSTER_NODES: '127.0.0.1:99999,a:7000,[::1]:0',
    });
    assert.deepEqual(cluster, [
      'redis.cluster_nodes.0 (from env REDIS_CLUSTER_NODES): port 99999 is not from 1 to 65535',
      'redis.cluster_nodes.2 (from env REDIS_CLUSTER_NODES): port 0 is not from 1 to 65535',
    ]);
    const sentinel = problemsOf({
      REDIS_MODE: 'sentinel',
      REDIS_SENTINELS: '127.0.0.1:0',
      REDIS_SENTINEL_NAME: 'm',
    });
    assert.deepEqual(sentinel, [
      'redis.sentinels.0 (from env REDIS_SENTINELS): port 0 is not from 1 to 65535',
    ]);
    const file = problemsOf(
      {},
      'redis:\n  mode: sentinel\n  sentinel_name: m\n  sentinels: ["s:26379", "s2"]\n',
    );
    assert.deepEqual(file, [
      'redis.sentinels.1: expected host:port (an IPv6 address in brackets: [::1]:6379)',
    ]);
  });

  test('an unparsable URL is refused without echoing it', () => {
    const problems = problemsOf({
      DATABASE_URL: 'postgres://app:pw-DO-NOT-LEAK@[db]:5432/gw',
      REDIS_URL: 'redis://:pw-DO-NOT-LEAK@[not-ipv6]:6379',
    });
    assert.equal(problems.length, 2, problems.join('\n'));
    for (const p of problems) {
      assert.match(
        p,
        /^(database|redis)\.url \(from env \w+\): not a valid URL \(check the host and the port/,
      );
      assert.doesNotMatch(p, /DO-NOT-LEAK/);
    }
  });

  test('addresses the drivers accept still pass', () => {
    for (const url of [
      'postgres://app:secret@db:5432/gw',
      'postgresql://app@[::1]:5432/gw?sslmode=require',
      'postgres://app@/gw?host=/var/run/postgresql',
      'postgres://app:with space@db/gw',
      'postgres://db',
    ]) {
      assert.equal(postgresUrlProblem(url), null, url);
    }
    for (const url of [
      'redis://r:6379',
      'rediss://:pw@r:6380/13',
      'redis://user:pw@[::1]:65535/0',
      'redis://r/',
    ]) {
      assert.equal(redisUrlProblem(url), null, url);
    }
    for (const node of ['10.0.0.1:7000', 'redis-b:1', '[::1]:65535'])
      assert.equal(hostPortProblem(node), null);
    const config = loadConfig({
      env: { DATABASE_URL: 'postgres://app@db:5432/gw', REDIS_URL: 'redis://r:6379/2' },
    });
    assert.equal(config.database.url, 'postgres://app@db:5432/gw');
  });

  test('each check says what is wrong', () => {
    assert.equal(postgresUrlProblem('mysql://db/x'), 'expected a postgres:// or postgresql:// URL');
    assert.equal(
      postgresUrlProblem('postgres://h1:5432,h2:5432/x'),
      'one host only (a list of hosts is not supported)',
    );
    assert.equal(postgresUrlProblem('postgres://db:port/x'), 'the port must be a number from 1 to 65535');
    assert.equal(
      redisUrlProblem('redis://r:6379/cache'),
      'the path must be a database index (redis://host:6379/0)',
    );
    assert.equal(redisUrlProblem('redis://r:65536'), 'port 65536 is not from 1 to 65535');
    assert.equal(hostPortProblem('r:0'), 'port 0 is not from 1 to 65535');
  });
});
