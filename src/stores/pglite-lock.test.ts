import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { systemClock } from '../core/clock.js';
import { acquirePgliteLock, DatabaseLockedError } from './pglite-lock.js';

describe('PGlite directory lock', () => {
  const root = mkdtempSync(join(tmpdir(), 'pglite-lock-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('one holder; a second open fails naming the directory; release frees it', () => {
    const dir = join(root, 'a', 'pglite');
    const lock = acquirePgliteLock(dir, systemClock);
    assert.equal(lock.file, `${dir}.lock`);
    assert.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid);
    assert.throws(
      () => acquirePgliteLock(dir, systemClock),
      (err: unknown) =>
        err instanceof DatabaseLockedError &&
        err.message.includes(dir) &&
        /already open here/.test(err.message) &&
        err.message.includes('DATABASE_URL'),
    );
    lock.release();
    assert.equal(existsSync(lock.file), false);
    acquirePgliteLock(dir, systemClock).release();
  });

  test('a live process on this host holds it; a dead one left a stale lock that is taken over', () => {
    const dir = join(root, 'b');
    const holder = { pid: process.ppid, host: hostname(), started_at: 0 };
    writeFileSync(`${dir}.lock`, JSON.stringify(holder));
    assert.throws(() => acquirePgliteLock(dir, systemClock), new RegExp(`process ${process.ppid}`));
    // A process that has exited: its pid is free.
    const dead = spawnSync(process.execPath, ['-e', 'process.pid']).pid as number;
    writeFileSync(`${dir}.lock`, JSON.stringify({ ...holder, pid: dead }));
    const lock = acquirePgliteLock(dir, systemClock);
    assert.equal(JSON.parse(readFileSync(lock.file, 'utf8')).pid, process.pid);
    lock.release();
  });

  test('our own pid from before this process started (container restart) is stale; another host is not', () => {
    const dir = join(root, 'c');
    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), started_at: 1 }));
    acquirePgliteLock(dir, systemClock).release();
    writeFileSync(`${dir}.lock`, JSON.stringify({ pid: 1, host: 'elsewhere', started_at: 1 }));
    assert.throws(() => acquirePgliteLock(dir, systemClock), /another host/);
  });
});
