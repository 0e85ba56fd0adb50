/**
 * `bench/lib/services.ts` (decision 0201): the local PostgreSQL and Redis are moved to the load CPU for a
 * benchmark run and given back their affinity afterwards. It changes the affinity of the machine's real
 * servers, so it needs the rights to (root, as CI runs) and at least two CPUs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pinServices } from '../../bench/lib/services.js';
import { DATABASE_URL, REDIS_URL } from '../helpers/services.js';

/** The CPUs a process may run on, as `taskset -cp` lists them ("0,1", "0-1"). */
function cpusOf(pid: number): string {
  return (
    execFileSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' })
      .split(':')[1]
      ?.trim() ?? ''
  );
}

async function backendPid(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return { client, pid: rows[0]?.pid as number };
}

const skip =
  process.getuid?.() !== 0
    ? 'needs root to change the servers’ affinity'
    : availableParallelism() < 2
      ? 'needs two CPUs'
      : false;

test('the local PostgreSQL and Redis go to the load CPU, new backends too, and get their CPUs back', {
  skip,
}, async () => {
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
  redis.disconnect();
  const before = await backendPid();
  const later: pg.Client[] = [];
  try {
    const redisCpus = cpusOf(redisPid);
    const backendCpus = cpusOf(before.pid);
    const pinned = await pinServices('1', { postgres: DATABASE_URL, redis: REDIS_URL });
    try {
      assert.match(pinned.note, /^PostgreSQL \(\d+ processes\) on CPU 1; Redis \(1 process\) on CPU 1$/);
      assert.equal(cpusOf(before.pid), '1', 'a backend that was already running');
      assert.equal(cpusOf(redisPid), '1');
      const next = await backendPid();
      later.push(next.client);
      assert.equal(cpusOf(next.pid), '1', 'a backend started afterwards inherits it from the postmaster');
    } finally {
      pinned.restore();
    }
    assert.equal(cpusOf(before.pid), backendCpus);
    assert.equal(cpusOf(redisPid), redisCpus);
  } finally {
    await Promise.all([before.client, ...later].map((c) => c.end()));
  }
});

test('a service that is not on this machine is left alone and said so', async () => {
  const pinned = await pinServices('0', {
    postgres: 'postgres://postgres@db.example.invalid:5432/postgres',
    redis: null,
  });
  assert.equal(pinned.note, 'PostgreSQL not pinned (not on this machine); Redis not pinned (not used)');
  pinned.restore();
});
