/**
 * Single-process ownership of a PGlite data directory. PGlite is PostgreSQL in one process with no
 * postmaster to arbitrate: two processes opening the same directory corrupt it. The owner holds
 * `<data_dir>.lock`, created with O_EXCL and holding its pid, host and start time; a second process gets a
 * `DatabaseLockedError` naming the directory, the holder and what to do.
 *
 * A lock whose holder is gone is stale and taken over: same host and the pid is not running, or the pid is
 * ours but the holder started before this process (a container restarted on the same volume, pid 1 again).
 * A lock from another host is never taken over automatically (its process cannot be checked from here).
 *
 * @example
 * const lock = acquirePgliteLock('./data/pglite', clock); … lock.release();
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Clock } from '../core/clock.js';

/** What the lock file holds. */
interface LockOwner {
  pid: number;
  host: string;
  /** Wall milliseconds when the holding process started. */
  started_at: number;
}

/** A second process (or a second open in this one) tried to open a PGlite directory that is in use. */
export class DatabaseLockedError extends Error {
  readonly dataDir: string;
  readonly owner: LockOwner | null;
  constructor(dataDir: string, lockFile: string, owner: LockOwner | null, reason: string) {
    super(
      `The embedded database at ${dataDir} is in use by ${reason}; PGlite allows one process per data directory. ` +
        'Stop that process, or use its admin API (GATEWAY_ADMIN_KEY) while it runs, or set DATABASE_URL to ' +
        `share a PostgreSQL database. If no process uses it any more, delete ${lockFile}.`,
    );
    this.name = 'DatabaseLockedError';
    this.dataDir = dataDir;
    this.owner = owner;
  }
}

export interface PgliteLock {
  readonly file: string;
  /** Removes the lock file if it is still ours (idempotent). */
  release(): void;
}

/** Takes the lock of `dataDir` (synchronously) or throws `DatabaseLockedError`. */
export function acquirePgliteLock(dataDir: string, clock: Pick<Clock, 'wallNow'>): PgliteLock {
  const dir = resolve(dataDir);
  const file = `${dir}.lock`;
  mkdirSync(dirname(file), { recursive: true });
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    started_at: Math.round(clock.wallNow() - process.uptime() * 1000),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      try {
        writeSync(fd, `${JSON.stringify(me)}\n`);
      } finally {
        closeSync(fd);
      }
      return ownLock(file, me);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    const verdict = judge(owner, me, file, clock);
    if (verdict !== 'stale') throw new DatabaseLockedError(dir, file, owner, verdict);
    try {
      unlinkSync(file);
    } catch {
      // another process removed it first: try again
    }
  }
  throw new DatabaseLockedError(dir, file, readOwner(file), 'another process starting at the same time');
}

function ownLock(file: string, me: LockOwner): PgliteLock {
  let held = true;
  return {
    file,
    release() {
      if (!held) return;
      held = false;
      const owner = readOwner(file);
      if (owner && owner.pid === me.pid && owner.started_at === me.started_at) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    },
  };
}

/** 'stale', or who holds it (for the message). */
function judge(owner: LockOwner | null, me: LockOwner, file: string, clock: Pick<Clock, 'wallNow'>): string {
  if (owner === null) {
    // Unreadable: a holder writing it this very moment, or a torn file left by a crash long ago.
    const age = clock.wallNow() - (statSafe(file) ?? clock.wallNow());
    return age > 10_000 ? 'stale' : 'another process starting at the same time';
  }
  const who = `process ${owner.pid} on ${owner.host}`;
  if (owner.host !== me.host) return `${who} (another host)`;
  if (owner.pid === me.pid) {
    // Our pid: this very process opened it already, or a previous process with our pid (a container
    // restarted on the same volume) left it behind.
    return owner.started_at < me.started_at - 1000 ? 'stale' : 'this process (it is already open here)';
  }
  return isRunning(owner.pid) ? who : 'stale';
}

function readOwner(file: string): LockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, started_at: Number(parsed.started_at) || 0 };
  } catch {
    return null;
  }
}

function statSafe(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
