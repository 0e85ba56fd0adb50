/**
 * Starts and stops what the benchmark measures, each as its own process pinned to a CPU set with
 * `taskset` where the machine has it: the mock upstream, the gateway (optionally with --workers), the
 * Portkey gateway and nginx. Their stdout and stderr are pipes read (and discarded) by the benchmark, as a
 * container runtime or log shipper would read them; the last 64 KiB are kept in `<name>.log` under the
 * run's temp folder when the process stops, for diagnosis. (A file on a VM disk would make every log
 * line a disk write and dominate the numbers; see docs/performance.md.)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PEERS_DIR = join(REPO_ROOT, 'bench/.peers');

/**
 * The node flags `npm start` passes (package.json's `start` script: `node <flags> bin/llm-gateway.mjs start`),
 * given to every compiled gateway the bench starts, so each runs as `npm start` does (decision 0192). A
 * variant's own flags come after them, and V8 takes the last value of a flag given twice.
 */
export const START_NODE_FLAGS: readonly string[] = (() => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  const entry = words.indexOf('bin/llm-gateway.mjs');
  if (words[0] !== 'node' || entry < 0) throw new Error(`unexpected start script: ${pkg.scripts.start}`);
  return words.slice(1, entry);
})();
export const PORTKEY_ENTRY = join(PEERS_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js');

export interface Proc {
  name: string;
  pid: number;
  origin: string;
  port: number;
  child: ChildProcess;
  log: string;
  stop(): Promise<void>;
}

export function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const hasTaskset = which('taskset') !== null;

/** The command line, prefixed with `taskset -c <cpus>` when pinning is possible and asked for. */
function pinned(cpus: string | null, cmd: string, args: string[]): [string, string[]] {
  if (cpus === null || !hasTaskset) return [cmd, args];
  return ['taskset', ['-c', cpus, cmd, ...args]];
}

/** Pins the current process (the load generator) to `cpus`; false when it could not. */
export function pinSelf(cpus: string | null): boolean {
  if (cpus === null || !hasTaskset) return false;
  try {
    execFileSync('taskset', ['-cp', cpus, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

async function waitUntil(
  child: ChildProcess,
  ready: () => Promise<boolean>,
  what: string,
  log: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during start (code ${child.exitCode ?? child.signalCode}); see ${log}`);
    }
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready in ${timeoutMs} ms; see ${log}`);
}

function launch(
  name: string,
  logDir: string,
  cpus: string | null,
  cmd: string,
  args: string[],
  env: Record<string, string>,
  port: number,
): Proc {
  mkdirSync(logDir, { recursive: true });
  const log = join(logDir, `${name}.log`);
  const [c, a] = pinned(cpus, cmd, args);
  const child = spawn(c, a, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      writeFileSync(log, tail);
      resolve();
    }),
  );
  return {
    name,
    pid: child.pid ?? -1,
    origin: `http://127.0.0.1:${port}`,
    port,
    child,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'TMPDIR', 'HOME']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
}

export interface MockProfile {
  chunks: number;
  ttftMs?: number;
  tokensPerSecond?: number;
}

export async function startMock(
  name: string,
  logDir: string,
  cpus: string | null,
  profile: MockProfile,
): Promise<Proc> {
  const port = await freePort();
  const args = [
    '--import',
    'tsx',
    'test/fixtures/mock-upstream/main.ts',
    '--port',
    String(port),
    '--chunks',
    String(profile.chunks),
    '--no-record',
  ];
  if (profile.ttftMs) args.push('--ttft-ms', String(profile.ttftMs));
  if (profile.tokensPerSecond) args.push('--tokens-per-second', String(profile.tokensPerSecond));
  const proc = launch(name, logDir, cpus, process.execPath, args, baseEnv(), port);
  await waitUntil(proc.child, () => canConnect(port), name, proc.log);
  return proc;
}

export interface GatewayLaunch {
  /** Env on top of the defaults below (provider pointed at the mock, logs at info). */
  env: Record<string, string>;
  /** YAML config written next to the logs and passed with --config. */
  yaml?: string;
  workers?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  /** Compiled entry (dist/main.js) instead of src/main.ts through tsx. */
  entry?: string;
}

/** `K=V` command-line pairs (`--gateway-env`, `--env`) as an env object; a pair without `=` is refused. */
export function envPairs(pairs: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`expected NAME=VALUE, got ${JSON.stringify(pair)}`);
    env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return env;
}

/** What every benchmarked gateway starts with: loopback port, the mock as OpenAI, info logs, no disk. */
export function gatewayBaseEnv(port: number, upstream: string): Record<string, string> {
  return {
    ...baseEnv(),
    HOST: '127.0.0.1',
    PORT: String(port),
    OPENAI_API_KEY: 'sk-bench-upstream-key',
    OPENAI_BASE_URL: `${upstream}/v1`,
    LOG_LEVEL: 'info',
    GATEWAY_DATA_DIR: 'memory://',
    SHUTDOWN_GRACE_SECONDS: '2',
  };
}

export async function startGateway(
  name: string,
  logDir: string,
  cpus: string | null,
  upstream: string,
  launchOptions: GatewayLaunch,
): Promise<Proc> {
  const port = await freePort();
  const env: Record<string, string> = { ...gatewayBaseEnv(port, upstream), ...launchOptions.env };
  const args = [
    // A compiled build runs as `npm start` runs it; the tsx one as `npm run dev`.
    ...(launchOptions.entry ? START_NODE_FLAGS : []),
    ...(launchOptions.nodeFlags ?? []),
    ...(launchOptions.entry ? [launchOptions.entry] : ['--import', 'tsx', 'src/main.ts']),
  ];
  if (launchOptions.yaml !== undefined) {
    mkdirSync(logDir, { recursive: true });
    const file = join(logDir, `${name}.yaml`);
    writeFileSync(file, launchOptions.yaml);
    args.push('--config', file);
  }
  if (launchOptions.workers && launchOptions.workers > 1)
    args.push('--workers', String(launchOptions.workers));
  const proc = launch(name, logDir, cpus, process.execPath, args, env, port);
  await waitUntil(
    proc.child,
    async () => {
      try {
        const res = await fetch(`${proc.origin}/health/live`);
        return res.ok;
      } catch {
        return false;
      }
    },
    name,
    proc.log,
    // The gateway opens its database (embedded PGlite: seconds) before it listens.
    90_000,
  );
  return proc;
}

export function portkeyAvailable(): string | null {
  return existsSync(PORTKEY_ENTRY)
    ? null
    : `not installed: run \`npm install --prefix bench/.peers\` (see bench/README.md)`;
}

export async function startPortkey(name: string, logDir: string, cpus: string | null): Promise<Proc> {
  const port = await freePort();
  const proc = launch(
    name,
    logDir,
    cpus,
    process.execPath,
    [PORTKEY_ENTRY, `--port=${port}`, '--headless'],
    { ...baseEnv(), NODE_ENV: 'production' },
    port,
  );
  await waitUntil(proc.child, () => canConnect(port), name, proc.log);
  return proc;
}

/** The bare Node.js proxy (bench/lib/bare-proxy.ts): node:http + undici, bytes through. */
export async function startBareProxy(
  name: string,
  logDir: string,
  cpus: string | null,
  upstream: string,
): Promise<Proc> {
  const port = await freePort();
  const proc = launch(
    name,
    logDir,
    cpus,
    process.execPath,
    ['--import', 'tsx', 'bench/lib/bare-proxy.ts', String(port), upstream],
    baseEnv(),
    port,
  );
  await waitUntil(proc.child, () => canConnect(port), name, proc.log);
  return proc;
}

/** Compiles the gateway (tsconfig.build.json) into `outDir`; returns the entry, or why it failed. */
export function buildGateway(outDir: string): { entry: string } | { error: string } {
  try {
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
      {
        cwd: REPO_ROOT,
        stdio: 'pipe',
      },
    );
    return { entry: join(outDir, 'main.js') };
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? (err as Error).message;
    return { error: `tsc failed: ${out.slice(0, 300)}` };
  }
}

/**
 * Builds another revision of the gateway for a same-run comparison (`--baseline REV`): its `src/` and
 * tsconfigs from git, compiled with this checkout's TypeScript against this checkout's node_modules.
 */
export function buildRevision(rev: string, dir: string): { entry: string } | { error: string } {
  try {
    mkdirSync(dir, { recursive: true });
    const files = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
    const tar = execFileSync('git', ['archive', '--format=tar', rev, ...files], {
      cwd: REPO_ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(
      process.execPath,
      [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', 'dist'],
      { cwd: dir, stdio: 'pipe' },
    );
    return { entry: join(dir, 'dist', 'main.js') };
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? (err as Error).message;
    return { error: `building ${rev} failed: ${out.slice(0, 300)}` };
  }
}

/** This checkout's build and, with `baseline`, that revision's, as [label, entry]; throws when one fails. */
export function buildsToCompare(dir: string, baseline: string | undefined): Array<[string, string]> {
  const own = buildGateway(join(dir, 'dist'));
  if ('error' in own) throw new Error(own.error);
  const builds: Array<[string, string]> = [['this build', own.entry]];
  if (baseline) {
    const base = buildRevision(baseline, join(dir, 'baseline'));
    if ('error' in base) throw new Error(base.error);
    builds.push([`baseline ${baseline}`, base.entry]);
  }
  return builds;
}

export function nginxAvailable(): string | null {
  return which('nginx') ? null : 'not installed (Debian: apt-get install nginx-light)';
}

export async function startNginx(
  name: string,
  logDir: string,
  cpus: string | null,
  upstreamPort: number,
): Promise<Proc> {
  const port = await freePort();
  const dir = join(logDir, `${name}-nginx`);
  mkdirSync(dir, { recursive: true });
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mock { server 127.0.0.1:${upstreamPort}; keepalive 256; }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 1000000;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const proc = launch(
    name,
    logDir,
    cpus,
    'nginx',
    ['-c', join(dir, 'nginx.conf'), '-p', dir],
    baseEnv(),
    port,
  );
  await waitUntil(proc.child, () => canConnect(port), name, proc.log);
  return proc;
}

/** Formats a result file the way the repository's formatter (Biome) does, so `npm run lint` passes. */
export function formatJson(file: string): void {
  try {
    execFileSync(join(REPO_ROOT, 'node_modules/.bin/biome'), ['format', '--write', file], {
      stdio: 'ignore',
    });
  } catch {
    // Biome missing (bench copied elsewhere): the file is valid JSON all the same.
  }
}

/**
 * Runs `load` while a tracer (`command args`, e.g. strace or perf trace attached to a process) records it:
 * the tracer gets `attachMs` to attach to every thread first, and is stopped with SIGINT (which makes it
 * write its output) once the load is done.
 */
export async function whileTraced<T>(
  command: string,
  args: readonly string[],
  attachMs: number,
  load: () => Promise<T>,
): Promise<T> {
  const tracer = spawn(command, args, { stdio: 'ignore' });
  const exited = new Promise((resolve) => tracer.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, attachMs));
  try {
    return await load();
  } finally {
    tracer.kill('SIGINT');
    await exited;
  }
}
