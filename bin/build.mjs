// The compiled build (dist/) the `llm-gateway` command runs, and when it must be rebuilt.
// `node bin/build.mjs` (`npm run build`) builds it unconditionally.
//
// The build is fresh when `dist/.build-stamp` exists and is newer than every source it is made from
// (src/**/*.ts except tests, src/**/*.json, tsconfig.json, tsconfig.build.json, and the web console's
// sources under console/). A stale or missing build is rebuilt with the project's TypeScript compiler and
// Vite (dev dependencies) — the gateway into dist/, the console into dist/console/ — with a message on
// stderr; two processes starting at once build once (a lock directory). Without a compiler (a production
// install that ships dist/, like the container image) the existing build runs as it is.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const STAMP = '.build-stamp';
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json'];

const CONSOLE_FILES = ['index.html', 'vite.config.ts', 'tsconfig.json'];

/** The newest modification time (ms) of the build's inputs under `root`, or 0 when there are none. */
export function newestSource(root) {
  let newest = 0;
  const visit = (dir, accept) => {
    let names;
    try {
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of names) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path, accept);
      else if (accept(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  visit(
    join(root, 'src'),
    (name) => (name.endsWith('.ts') && !name.endsWith('.test.ts')) || name.endsWith('.json'),
  );
  visit(join(root, 'console', 'src'), (name) => !name.includes('.test.'));
  const files = [...CONFIGS, ...CONSOLE_FILES.map((name) => join('console', name))];
  for (const name of files) {
    const path = join(root, name);
    if (existsSync(path)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether this tree has the console's sources (a production tree ships only dist/console/). */
function hasConsole(root) {
  return existsSync(join(root, 'console', 'vite.config.ts'));
}

/**
 * `fresh` (dist/ matches the sources), `stale` (a source is newer than the build) or `missing`.
 * A tree without sources (an image that ships only dist/) is fresh when dist/ exists.
 */
export function buildState(root) {
  const stamp = join(root, 'dist', STAMP);
  if (!existsSync(join(root, 'dist', 'main.js')) || !existsSync(stamp)) return 'missing';
  if (hasConsole(root) && !existsSync(join(root, 'dist', 'console', 'index.html'))) return 'missing';
  return newestSource(root) > statSync(stamp).mtimeMs ? 'stale' : 'fresh';
}

/** The TypeScript compiler's entry, or null when it is not installed (production dependencies only). */
function findCompiler(root) {
  try {
    return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return null;
  }
}

/**
 * Makes sure dist/ is fresh: builds it when missing or stale. Returns what it did (`fresh`, `built`, or
 * `stale-kept` when there is no compiler but an older build exists). Throws when there is nothing to run.
 */
export function ensureBuild(root, log = (line) => process.stderr.write(`${line}\n`)) {
  const state = buildState(root);
  if (state === 'fresh') return 'fresh';
  const tsc = findCompiler(root);
  if (tsc === null) {
    if (state === 'stale') {
      log(
        'llm-gateway: dist/ is older than src/ and no TypeScript compiler is installed; running dist/ as it is',
      );
      return 'stale-kept';
    }
    throw new Error(
      'llm-gateway: there is no compiled build (dist/) and no TypeScript compiler to make one: run `npm ci` (with dev dependencies) and `npm run build`',
    );
  }
  const lock = join(root, 'dist.lock');
  if (!acquire(lock)) {
    // Another process is building: wait for it, then use its build.
    log('llm-gateway: waiting for another process to finish building dist/ …');
    while (existsSync(lock)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    if (buildState(root) !== 'missing') return 'built';
    return ensureBuild(root, log);
  }
  try {
    build(root, log, state === 'missing' ? 'first start' : 'sources changed since the last build', tsc);
    return 'built';
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Vite's command-line entry, or null when it is not installed. */
function findVite(root) {
  try {
    return join(
      dirname(createRequire(join(root, 'package.json')).resolve('vite/package.json')),
      'bin',
      'vite.js',
    );
  } catch {
    return null;
  }
}

/** Compiles src/ into dist/ and the console into dist/console/, and stamps it. @throws on build errors. */
export function build(root, log, reason, tsc = findCompiler(root)) {
  if (tsc === null) throw new Error('llm-gateway: the TypeScript compiler is not installed (run `npm ci`)');
  log(`llm-gateway: building dist/ (${reason}) …`);
  const started = performance.now();
  const startedAt = Date.now() / 1000;
  const run = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (run.status !== 0) throw new Error('llm-gateway: the TypeScript build failed (errors above)');
  if (hasConsole(root)) {
    const vite = findVite(root);
    if (vite === null)
      throw new Error('llm-gateway: Vite is not installed to build the console (run `npm ci`)');
    const bundled = spawnSync(
      process.execPath,
      [vite, 'build', '--config', join(root, 'console', 'vite.config.ts')],
      {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
      },
    );
    if (bundled.status !== 0) throw new Error('llm-gateway: the console build failed (errors above)');
  }
  // The stamp carries the build's start time: a source saved while the compiler ran makes the build stale.
  const stamp = join(root, 'dist', STAMP);
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  utimesSync(stamp, startedAt, startedAt);
  log(`llm-gateway: built dist/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** A lock directory (mkdir is atomic); one left behind by a crashed build for over 5 minutes is taken over. */
function acquire(lock) {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    try {
      if (Date.now() - statSync(lock).mtimeMs > 5 * 60_000) {
        rmSync(lock, { recursive: true, force: true });
        mkdirSync(lock);
        return true;
      }
    } catch {
      // Someone else took it over: wait for them.
    }
    return false;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    build(
      dirname(dirname(fileURLToPath(import.meta.url))),
      (line) => process.stderr.write(`${line}\n`),
      'npm run build',
    );
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
