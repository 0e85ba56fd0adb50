/**
 * Real Redis and PostgreSQL for integration tests (DESIGN §15).
 *
 * - `REDIS_URL` / `DATABASE_URL` (default: the local services on 6379 / 5432).
 * - `requireServices()`: in CI (`CI=true`) a missing service fails the test; locally the test is skipped
 *   with a message saying which service is missing — never silently.
 * - `createTestDatabase()`: a fresh PostgreSQL database per test file, dropped at the end.
 * - `startRedisServer()`: a private redis-server on its own port that a test may stop and start again
 *   (outage tests never touch the shared instance other tests use).
 * - `TcpProxy`: a loopback proxy in front of a service that a test can cut (connections reset, new ones
 *   refused) and restore — "database stopped, then started" without stopping the shared server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';

export const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function redisUpOnce(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function postgresUpOnce(): Promise<boolean> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether a service answers, asked up to three times: on a loaded machine (CI running many test files at
 * once) one slow connect is not a missing service.
 */
async function answers(probe: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) if (await probe()) return true;
  return false;
}
const redisUp = () => answers(redisUpOnce);
const postgresUp = () => answers(postgresUpOnce);

/**
 * Returns `undefined` when the services are there, else the skip reason (locally). In CI, throws.
 *
 * @example
 * const skip = await requireServices('redis');
 * describe('limits', { skip }, () => { … });
 */
export async function requireServices(...names: Array<'redis' | 'postgres'>): Promise<string | undefined> {
  const missing: string[] = [];
  if (names.includes('redis') && !(await redisUp())) missing.push(`Redis at ${REDIS_URL}`);
  if (names.includes('postgres') && !(await postgresUp())) missing.push(`PostgreSQL at ${DATABASE_URL}`);
  if (missing.length === 0) return undefined;
  const message = `missing service: ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`${message} (CI=true: services are required)`);
  return message;
}

/** A unique prefix for Redis keys, so parallel test files never see each other's keys. */
export function uniquePrefix(label = 'test'): string {
  return `t:${label}:${randomBytes(4).toString('hex')}:`;
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty PostgreSQL database (`gw_test_<random>`) on the server of DATABASE_URL. */
export async function createTestDatabase(label = 'db'): Promise<TestDatabase> {
  const name = `gw_test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGKILL: like a crash) and waits until the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  start(): Promise<void>;
  /** Hangs the server (SIGSTOP): connections stay open, nothing is answered — like a stalled host. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  close(): Promise<void>;
}

/**
 * A private redis-server for outage tests (the machine's `redis-server` binary); `args` are extra server
 * options (e.g. `['--maxmemory', '4mb', '--maxmemory-policy', 'volatile-ttl']`).
 */
export async function startRedisServer(args: string[] = []): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gw-redis-'));
  let child: ChildProcess | null = null;
  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...args,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5000;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`redis-server did not start on port ${port}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  async function stop(): Promise<void> {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }
  await start();
  const signal = (name: NodeJS.Signals) => {
    const c = child as ChildProcess | null;
    if (c && c.exitCode === null) c.kill(name);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
    async close() {
      // A paused server ignores nothing but SIGKILL, which stop sends; resume anyway for a clean exit.
      signal('SIGCONT');
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP proxy on loopback in front of `target` that can be cut and restored. */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | null = null;
  #port = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** Starts a proxy to host:port on a free local port. */
  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await proxy.#listen(0);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** Rewrites a service URL (redis://, postgres://) to go through this proxy. */
  wrap(serviceUrl: string): string {
    const url = new URL(serviceUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.#port);
    return url.toString();
  }

  async #listen(port: number): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target.port, this.#target.host);
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      const cleanup = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', cleanup).on('close', cleanup);
      upstream.on('error', cleanup).on('close', cleanup);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as net.AddressInfo).port;
  }

  /** The service "goes down": open connections are reset and new ones refused. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.resetAndDestroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The service "comes back" on the same port. */
  async restore(): Promise<void> {
    if (!this.#server) await this.#listen(this.#port);
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
