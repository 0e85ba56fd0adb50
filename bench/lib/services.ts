/**
 * The services the gateway variants talk to (PostgreSQL, Redis), moved off the proxy CPU for a run when they
 * run on this machine (decision 0201). The bench pins the load generator and the mock upstream to one CPU
 * and the proxy under test to the other; a database server left to the scheduler runs its backends on
 * whichever CPU is idle, often the proxy's between two requests, and the next request then waits behind a
 * usage batch's insert. In production the database is another machine's work.
 *
 * Each service's process tree (PostgreSQL's postmaster and its children, the Redis server with all its
 * threads) gets the load CPU; new PostgreSQL backends inherit it from the postmaster. `restore()` gives
 * every process of the trees the affinity its root had before.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';

export interface PinnedServices {
  /** What was pinned (or why not), for the report. */
  note: string;
  restore(): void;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]', '']);

/** Pins the local PostgreSQL and Redis servers named by the URLs to `cpus`. Never throws. */
export async function pinServices(
  cpus: string,
  urls: { postgres: string | null; redis: string | null },
): Promise<PinnedServices> {
  const roots: Array<{ name: string; pid: number }> = [];
  const notes: string[] = [];
  for (const [name, find] of [
    ['PostgreSQL', () => postgresPid(urls.postgres)],
    ['Redis', () => redisPid(urls.redis)],
  ] as const) {
    const found = await find().catch((err: Error) => err.message);
    if (typeof found === 'number') roots.push({ name, pid: found });
    else notes.push(`${name} not pinned (${found})`);
  }
  const saved: Array<{ pid: number; mask: string }> = [];
  const pinned: string[] = [];
  for (const { name, pid } of roots) {
    let mask: string;
    try {
      mask = affinityMask(pid);
    } catch (err) {
      notes.push(`${name} not pinned (${(err as Error).message.split('\n')[0]})`);
      continue;
    }
    if (!setAffinity(pid, ['-cp', cpus])) {
      notes.push(`${name} not pinned (taskset refused pid ${pid})`);
      continue;
    }
    // Saved as soon as the root moved, so that `restore` undoes whatever moved after it.
    saved.push({ pid, mask });
    // A child may end between the listing and its move (a backend closing): skipped, not a failure.
    let moved = 1;
    for (const child of processTree(pid).slice(1)) if (setAffinity(child, ['-cp', cpus])) moved++;
    pinned.push(`${name} (${moved} process${moved === 1 ? '' : 'es'}) on CPU ${cpus}`);
  }
  return {
    note: [...pinned, ...notes].join('; '),
    restore() {
      for (const { pid, mask } of saved) for (const p of processTree(pid)) setAffinity(p, ['-p', mask]);
    },
  };
}

/** `taskset -a` (every thread) on one process; false when it failed (gone, or not allowed). */
function setAffinity(pid: number, args: string[]): boolean {
  try {
    execFileSync('taskset', ['-a', ...args, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The postmaster's pid: the parent of this connection's backend, when the server is on this machine. */
async function postgresPid(url: string | null): Promise<number> {
  if (url === null) throw new Error('not used');
  if (!LOOPBACK.has(new URL(url).hostname)) throw new Error('not on this machine');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const backend = rows[0]?.pid;
    if (backend === undefined || !existsSync(`/proc/${backend}`))
      throw new Error('not in this process namespace');
    return parentOf(backend);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The Redis server's pid, as it reports it, when it runs on this machine. */
async function redisPid(url: string | null): Promise<number> {
  if (url === null) throw new Error('not used');
  if (!LOOPBACK.has(new URL(url).hostname)) throw new Error('not on this machine');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const info = await redis.info('server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (!Number.isInteger(pid) || !existsSync(`/proc/${pid}/comm`))
      throw new Error('not in this process namespace');
    if (!readFileSync(`/proc/${pid}/comm`, 'utf8').includes('redis'))
      throw new Error(`pid ${pid} is not Redis`);
    return pid;
  } finally {
    redis.disconnect();
  }
}

/** `/proc/<pid>/stat`'s parent pid (the command name in brackets may hold spaces). */
function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** `pid` and its descendants. */
function processTree(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    let children = '';
    try {
      children = readFileSync(`/proc/${p}/task/${p}/children`, 'utf8');
    } catch {
      return;
    }
    for (const child of children.split(' ')) if (child.trim()) visit(Number(child));
  };
  visit(pid);
  return out;
}

/** `taskset -p`'s hex mask of a process ("pid 12's current affinity mask: 3"). */
function affinityMask(pid: number): string {
  const out = execFileSync('taskset', ['-p', String(pid)], { encoding: 'utf8' });
  const mask = /mask:\s*([0-9a-f]+)/i.exec(out)?.[1];
  if (!mask) throw new Error(`could not read the affinity of ${pid}`);
  return mask;
}
