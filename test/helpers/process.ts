/**
 * Runs the real gateway as a child process (`node --import tsx src/main.ts`), exactly as `npm start` does,
 * and follows its JSON log lines on stdout so tests can wait for events (`gateway.ready`, `shutdown.start`)
 * instead of sleeping.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface LogLine {
  level?: string;
  msg?: string;
  event?: string;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface GatewayProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>` (valid once `gateway.ready` was logged). */
  url: string;
  /** Every JSON line written to stdout so far. */
  lines: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line (past or future) matching `match`; rejects on exit or timeout. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
}

/** A port that was free a moment ago (main.ts listens on the configured port, not on 0). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A clean environment: PATH and temp dir from the parent, nothing else leaks in (no real provider keys). */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'TMPDIR', 'HOME', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Starts `src/main.ts` with exactly `env` (plus `baseEnv()`); does not wait for anything. */
export function startProcess(env: Record<string, string>, args: string[] = []): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...baseEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const lines: LogLine[] = [];
  const waiters = new Set<(line: LogLine) => void>();
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    out += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      if (!raw.trim()) continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw) as LogLine;
      } catch {
        line = { msg: raw, level: 'non-json' };
      }
      lines.push(line);
      for (const waiter of waiters) waiter(line);
    }
  });
  child.stderr?.on('data', (text: string) => {
    err += text;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const proc: GatewayProcess = {
    child,
    url: '',
    lines,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(match, timeoutMs = 15_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const done = (fn: () => void) => {
          clearTimeout(timer);
          waiters.delete(onLine);
          fn();
        };
        const onLine = (line: LogLine) => {
          if (match(line)) done(() => resolve(line));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`no matching log line in ${timeoutMs} ms; stderr: ${err}`))),
          timeoutMs,
        );
        waiters.add(onLine);
        void exited.then(({ code, signal }) =>
          done(() => reject(new Error(`gateway exited (${code ?? signal}) first; stderr: ${err}`))),
        );
      });
    },
  };
  return proc;
}

/** Starts the gateway on a free port and waits for its `gateway.ready` log line. */
export async function spawnGateway(
  env: Record<string, string>,
  args: string[] = [],
): Promise<GatewayProcess> {
  const port = await freePort();
  // The usage database in memory: a spawned gateway never writes ./data of the repository.
  const proc = startProcess(
    { HOST: '127.0.0.1', PORT: String(port), GATEWAY_DATA_DIR: 'memory://', ...env },
    args,
  );
  try {
    await proc.waitForLog((l) => l.event === 'gateway.ready');
  } catch (err) {
    proc.child.kill('SIGKILL');
    throw err;
  }
  proc.url = `http://127.0.0.1:${port}`;
  return proc;
}

/** Kills the process if a test left it running. */
export async function stopProcess(proc: GatewayProcess | undefined): Promise<void> {
  if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGKILL');
  await proc.exited;
}
