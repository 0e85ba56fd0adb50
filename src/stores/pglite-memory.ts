/**
 * PGlite's memory, bounded (docs/decisions/0131-pglite-memory.md). PGlite is PostgreSQL in WebAssembly:
 * its linear memory only grows, so what PostgreSQL touches once stays in the gateway's RSS for good.
 *
 * - `PGLITE_START_PARAMS`: PostgreSQL's own buffers sized for a gateway's usage table instead of
 *   PostgreSQL's defaults (shared_buffers 128 MB, which PGlite fills and keeps): −120 MiB RSS measured.
 * - `initPgliteDataDir`: creating a new data directory (initdb) peaks near 770 MiB and kept ~600 MiB of it
 *   in the process; it runs in a short-lived child process instead, so the gateway opens a ready directory.
 * - PGlite's 9 MB WebAssembly module runs as V8's baseline compiler (Liftoff) compiles it, never
 *   recompiled by the optimising one, whose compile memory stays in RSS: `noTierUpForDatabase` in
 *   core/wasm-tiering.ts (decisions 0158, 0168). The initdb child runs with the same flags.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NO_TIER_UP_FLAGS } from '../core/wasm-tiering.js';

/** PostgreSQL settings of the embedded database (the usage table is written in batches, read by reports). */
export const PGLITE_MEMORY_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '8MB',
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
      [
        ...NO_TIER_UP_FLAGS.split(' '),
        '--input-type=module',
        '-e',
        script,
        dataDir,
        JSON.stringify(startParams),
      ],
      { stdio: 'ignore' },
    );
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0 && existsSync(join(dataDir, 'PG_VERSION'))));
  });
}
