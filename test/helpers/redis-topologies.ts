/**
 * Real Redis topologies started by the tests themselves on free loopback ports (DESIGN §11, §15), from the
 * machine's `redis-server` and `redis-cli` (Debian: `redis-server`, `redis-tools`):
 *
 * - `startRedisCluster()`: three masters in cluster mode (`--cluster-enabled yes`), joined by
 *   `redis-cli --cluster create … --cluster-replicas 0`, ready once every node reports `cluster_state:ok`.
 * - `startRedisSentinel()`: a master, one replica and one Sentinel (`redis-server <conf> --sentinel`, a
 *   generated sentinel.conf) watching them as `mymaster`; `failover()` runs `SENTINEL FAILOVER` and waits
 *   until the replica is the master.
 *
 * Nothing is written to disk beyond a temporary directory (no RDB, no AOF); `close()` kills every process
 * and removes the directory, and the processes are also killed if the test process exits without it.
 * `requireRedisBinaries()` skips locally (with the reason) and fails in CI when a binary is missing.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const execFileAsync = promisify(execFile);

/** Undefined when `redis-server` and `redis-cli` are on PATH; else the skip reason (locally) — in CI, throws. */
export function requireRedisBinaries(): string | undefined {
  const missing = ['redis-server', 'redis-cli'].filter(
    (bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status !== 0,
  );
  if (missing.length === 0) return undefined;
  const message = `missing ${missing.join(' and ')} (Debian packages redis-server, redis-tools)`;
  if (process.env.CI) throw new Error(`${message} (CI=true: required)`);
  return message;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 25 ms for at most `ms`; throws `what` when it never holds. */
async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Sends one command to 127.0.0.1:port on a short-lived connection. */
async function command(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0] as string, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

/** Processes of one topology: started, killed at close (and at process exit if close never ran). */
class ProcessGroup {
  readonly dir = mkdtempSync(join(tmpdir(), 'gw-redis-topology-'));
  readonly #children = new Set<ChildProcess>();
  readonly #onExit = () => {
    for (const child of this.#children) child.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.#onExit);
  }

  /** Starts `redis-server args…` and waits until `port` accepts connections. */
  async start(port: number, args: string[]): Promise<ChildProcess> {
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    await waitFor(`redis-server on port ${port}`, 5_000, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited (${child.exitCode})`);
      return (await command(port, 'PING')) === 'PONG';
    });
    return child;
  }

  /** Sends `signal` to every process (SIGSTOP: hung like a stalled host; SIGCONT: going on). */
  signal(signal: NodeJS.Signals): void {
    for (const child of this.#children) child.kill(signal);
  }

  async close(): Promise<void> {
    process.removeListener('exit', this.#onExit);
    this.signal('SIGCONT');
    await Promise.all(
      [...this.#children].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Options every server gets: loopback, nothing persisted, files in the group's directory. */
function serverArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

export interface RedisClusterHandle {
  /** Seed addresses, `127.0.0.1:port` (what REDIS_CLUSTER_NODES takes). */
  nodes: string[];
  ports: number[];
  /** The master port that holds `key`'s slot (CLUSTER KEYSLOT, then CLUSTER SLOTS). */
  masterOf(key: string): Promise<number>;
  /** Keys of every master whose names start with `prefix` (KEYS on each: test cleanup and assertions). */
  keysByNode(prefix: string): Promise<Map<number, string[]>>;
  /** Hangs every node (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets paused nodes go on (SIGCONT). */
  resume(): void;
  close(): Promise<void>;
}

/**
 * Starts a Redis Cluster of `masters` masters (no replicas) on free loopback ports.
 *
 * @example
 * const cluster = await startRedisCluster();
 * const env = { REDIS_MODE: 'cluster', REDIS_CLUSTER_NODES: cluster.nodes.join(',') };
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const group = new ProcessGroup();
  try {
    const ports: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      // The bus port is given explicitly: port + 10000 may be past 65535 for an ephemeral port.
      const busPort = await freePort();
      await group.start(port, [
        ...serverArgs(port, group.dir),
        '--cluster-enabled',
        'yes',
        '--cluster-port',
        String(busPort),
        '--cluster-config-file',
        join(group.dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '2000',
        '--daemonize',
        'no',
      ]);
      ports.push(port);
    }
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    for (const port of ports) {
      await waitFor(`cluster_state:ok on ${port}`, 15_000, async () =>
        String(await command(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      );
    }
    return {
      nodes,
      ports,
      async masterOf(key) {
        const slot = Number(await command(ports[0] as number, 'CLUSTER', 'KEYSLOT', key));
        const slots = (await command(ports[0] as number, 'CLUSTER', 'SLOTS')) as Array<
          [number, number, [string, number, string]]
        >;
        const range = slots.find(([from, to]) => slot >= from && slot <= to);
        if (!range) throw new Error(`no master for slot ${slot}`);
        return Number(range[2][1]);
      },
      async keysByNode(prefix) {
        const out = new Map<number, string[]>();
        for (const port of ports) {
          const keys = (await command(port, 'KEYS', `${prefix}*`)) as string[];
          out.set(port, keys);
        }
        return out;
      },
      pause: () => group.signal('SIGSTOP'),
      resume: () => group.signal('SIGCONT'),
      close: () => group.close(),
    };
  } catch (err) {
    await group.close();
    throw err;
  }
}

export interface RedisSentinelHandle {
  /** Sentinel addresses, `127.0.0.1:port` (what REDIS_SENTINELS takes). */
  sentinels: string[];
  /** The monitored master's name (REDIS_SENTINEL_NAME). */
  name: string;
  /** Port of the current master, as the Sentinel reports it. */
  masterPort(): Promise<number>;
  /** The two data servers' ports: [first master, first replica]. */
  dataPorts: [number, number];
  /** Forces a failover (`SENTINEL FAILOVER`) and waits until the other server is master and writable. */
  failover(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Starts a master, a replica of it and one Sentinel watching them (quorum 1) on free loopback ports.
 *
 * @example
 * const sentinel = await startRedisSentinel();
 * const env = { REDIS_MODE: 'sentinel', REDIS_SENTINELS: sentinel.sentinels.join(','), REDIS_SENTINEL_NAME: sentinel.name };
 */
export async function startRedisSentinel(name = 'mymaster'): Promise<RedisSentinelHandle> {
  const group = new ProcessGroup();
  try {
    const master = await freePort();
    const replica = await freePort();
    const sentinel = await freePort();
    await group.start(master, serverArgs(master, group.dir));
    await group.start(replica, [
      ...serverArgs(replica, group.dir),
      '--replicaof',
      '127.0.0.1',
      String(master),
    ]);
    await waitFor('the replica in sync', 10_000, async () =>
      String(await command(replica, 'INFO', 'replication')).includes('master_link_status:up'),
    );
    const conf = join(group.dir, 'sentinel.conf');
    // Sentinel rewrites its config file (it must be writable): one per group, in the temporary directory.
    writeFileSync(
      conf,
      [
        `port ${sentinel}`,
        'bind 127.0.0.1',
        `dir ${group.dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master} 1`,
        `sentinel down-after-milliseconds ${name} 2000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    await group.start(sentinel, [conf, '--sentinel']);
    // A failover needs the Sentinel to know the replica (learnt from the master's INFO).
    await waitFor('the Sentinel to see the replica', 15_000, async () => {
      const replicas = (await command(sentinel, 'SENTINEL', 'REPLICAS', name)) as string[][];
      return replicas.some((r) => {
        const field = (f: string) => r[r.indexOf(f) + 1];
        // Connected (flags exactly "slave") and refreshed by INFO: only then is it a candidate.
        return (
          field('port') === String(replica) &&
          field('flags') === 'slave' &&
          field('master-link-status') === 'ok'
        );
      });
    });
    const masterPort = async () => {
      const addr = (await command(sentinel, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as string[];
      return Number(addr[1]);
    };
    return {
      sentinels: [`127.0.0.1:${sentinel}`],
      name,
      dataPorts: [master, replica],
      masterPort,
      async failover() {
        const before = await masterPort();
        const other = before === master ? replica : master;
        await command(sentinel, 'SENTINEL', 'FAILOVER', name);
        await waitFor(
          'the Sentinel to promote the replica',
          30_000,
          async () => (await masterPort()) === other,
        );
        await waitFor('the new master to accept writes', 10_000, async () =>
          String(await command(other, 'INFO', 'replication')).includes('role:master'),
        );
        return other;
      },
      close: () => group.close(),
    };
  } catch (err) {
    await group.close();
    throw err;
  }
}
