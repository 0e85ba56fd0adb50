/**
 * PGlite's memory, bounded (docs/decisions/0131-pglite-memory.md). PGlite is PostgreSQL in WebAssembly:
 * its linear memory only grows, so what PostgreSQL touches once stays in the gateway's RSS for good.
 *
 * - `PGLITE_START_PARAMS`: PostgreSQL's own buffers sized for a gateway's usage table instead of
 *   PostgreSQL's defaults (shared_buffers 128 MB, which PGlite fills and keeps): −120 MiB RSS measured.
 * - `initPgliteDataDir`: creating a new data directory (initdb) peaks near 770 MiB and kept ~600 MiB of it
 *   in the process; it runs in a short-lived child process instead, so the gateway opens a ready directory.
 * - `compiledWithLiftoff`: PGlite's 9 MB WebAssembly module compiled by V8's baseline compiler only
 *   (Liftoff), not also by its optimising one, whose output and compile memory stayed in RSS: −30 to
 *   −40 MiB measured (docs/decisions/0158-pglite-liftoff.md).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';

/** PostgreSQL settings of the embedded database (the usage table is written in batches, read by reports). */
export const PGLITE_MEMORY_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
  work_mem: '2MB',
  maintenance_work_mem: '8MB',
  temp_buffers: '2MB',
  wal_buffers: '1MB',
};

/**
 * Start parameters for `PGlite.create`: PGlite's defaults (`PGlite.defaultStartParams`: single user, no
 * parallel workers …), then the memory settings (a later `-c` wins).
 */
export function pgliteStartParams(defaults: readonly string[]): string[] {
  const params = [...defaults];
  for (const [name, value] of Object.entries(PGLITE_MEMORY_SETTINGS)) params.push('-c', `${name}=${value}`);
  return params;
}

/**
 * Creates a PGlite data directory that does not exist yet (initdb) in a child process and waits for it;
 * a directory that has one already is left alone. Resolves false when the child failed (the caller then
 * lets PGlite create it in process, as before), true when the directory is ready.
 */
export async function initPgliteDataDir(dataDir: string, startParams: readonly string[]): Promise<boolean> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return true;
  const module = import.meta.resolve('@electric-sql/pglite');
  const script = [
    `const { PGlite } = await import(${JSON.stringify(module)});`,
    'const db = await PGlite.create(process.argv[1], { startParams: JSON.parse(process.argv[2]) });',
    'await db.close();',
  ].join('\n');
  return new Promise<boolean>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', script, dataDir, JSON.stringify(startParams)],
      { stdio: 'ignore' },
    );
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0 && existsSync(join(dataDir, 'PG_VERSION'))));
  });
}

/** V8's WebAssembly tiering flags, as they are by default (the state `compiledWithLiftoff` restores). */
const WASM_TIERING_DEFAULTS = '--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering';

/** Whether the operator set V8 WebAssembly compiler flags (command line or NODE_OPTIONS): then they rule. */
export function wasmFlagsGiven(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((arg) =>
    /^--(no-)?(liftoff|wasm)/.test(arg),
  );
}

/**
 * Runs `open` (which compiles and starts PGlite) with V8's `--liftoff-only`, then restores V8's defaults:
 * PGlite's module is compiled by the baseline compiler, and only its functions that run hot are optimised
 * later; WebAssembly compiled afterwards (the embedding model's workers start after the database opened)
 * is compiled as usual. Left alone when the operator set WebAssembly compiler flags.
 */
export async function compiledWithLiftoff<T>(
  open: () => Promise<T>,
  current: { execArgv: readonly string[]; nodeOptions: string | undefined } = {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
  },
): Promise<T> {
  if (wasmFlagsGiven(current.execArgv, current.nodeOptions)) return open();
  setFlagsFromString('--liftoff-only');
  try {
    return await open();
  } finally {
    setFlagsFromString(WASM_TIERING_DEFAULTS);
  }
}
