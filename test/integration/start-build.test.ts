/**
 * `npm start` runs the compiled build (bin/build.mjs): built on first start, rebuilt when a source is newer
 * than the build, kept as it is where no compiler is installed (the container image), and a clear error
 * when there is nothing to run. Each case runs in its own small project so the repository's dist/ is not
 * touched; the compiling cases use the real TypeScript compiler on a one-file project.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildState, ensureBuild } from '../../bin/build.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const roots: string[] = [];

/** A project with src/main.ts and the tsconfig files; `compiler` links the repository's node_modules. */
function project(compiler: boolean): string {
  const root = mkdtempSync(join(tmpdir(), 'gw-build-'));
  roots.push(root);
  mkdirSync(join(root, 'src'));
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  writeFileSync(join(root, 'src/main.ts'), 'export const answer: number = 42;\n');
  writeFileSync(join(root, 'src/main.test.ts'), 'export {};\n');
  writeFileSync(
    join(root, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'es2022', module: 'nodenext', strict: true, skipLibCheck: true },
    }),
  );
  writeFileSync(
    join(root, 'tsconfig.build.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { outDir: 'dist', rootDir: 'src', types: [] },
      include: ['src'],
      exclude: ['src/**/*.test.ts'],
    }),
  );
  if (compiler) symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** Sets a file's modification time to `seconds` after the epoch. */
const touch = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('the compiled build npm start runs', () => {
  test('first start builds dist/; the next start finds it fresh', () => {
    const root = project(true);
    const lines: string[] = [];
    assert.equal(buildState(root), 'missing');
    assert.equal(
      ensureBuild(root, (l) => lines.push(l)),
      'built',
    );
    assert.match(lines.join('\n'), /building dist\/ \(first start\)/);
    assert.equal(buildState(root), 'fresh');
    assert.equal(
      ensureBuild(root, (l) => lines.push(l)),
      'fresh',
    );
  });

  test('a source newer than the build is rebuilt, with a message saying why; test files do not count', () => {
    const root = project(true);
    ensureBuild(root, () => undefined);
    const stamp = join(root, 'dist/.build-stamp');
    touch(stamp, 1_000_000);
    touch(join(root, 'src/main.ts'), 999_000);
    touch(join(root, 'tsconfig.json'), 999_000);
    touch(join(root, 'tsconfig.build.json'), 999_000);
    touch(join(root, 'src/main.test.ts'), 2_000_000);
    assert.equal(buildState(root), 'fresh', 'a newer test file needs no rebuild');
    writeFileSync(join(root, 'src/main.ts'), 'export const answer: number = 43;\n');
    touch(join(root, 'src/main.ts'), 1_000_001);
    assert.equal(buildState(root), 'stale');
    const lines: string[] = [];
    assert.equal(
      ensureBuild(root, (l) => lines.push(l)),
      'built',
    );
    assert.match(lines.join('\n'), /sources changed since the last build/);
  });

  test('a type error fails the build with a clear error (no half-built start)', () => {
    const root = project(true);
    writeFileSync(join(root, 'src/main.ts'), 'export const answer: number = "no";\n');
    assert.throws(() => ensureBuild(root, () => undefined), /TypeScript build failed/);
    assert.equal(buildState(root), 'missing');
  });

  test('without a compiler: an older build runs as it is; no build at all is a clear error', () => {
    const root = project(false);
    assert.throws(() => ensureBuild(root, () => undefined), /no compiled build .*npm run build/);
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/main.js'), '');
    writeFileSync(join(root, 'dist/.build-stamp'), '');
    touch(join(root, 'dist/.build-stamp'), 1_000_000);
    touch(join(root, 'src/main.ts'), 1_000_001);
    const lines: string[] = [];
    assert.equal(
      ensureBuild(root, (l) => lines.push(l)),
      'stale-kept',
    );
    assert.match(lines.join('\n'), /no TypeScript compiler is installed/);
  });

  test('an image with dist/ and no sources is fresh', () => {
    const root = project(false);
    rmSync(join(root, 'src'), { recursive: true });
    rmSync(join(root, 'tsconfig.json'));
    rmSync(join(root, 'tsconfig.build.json'));
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/main.js'), '');
    writeFileSync(join(root, 'dist/.build-stamp'), '');
    assert.equal(buildState(root), 'fresh');
  });

  test('the console: a missing dist/console/ or a console source newer than the build makes it rebuild', () => {
    const root = project(false);
    mkdirSync(join(root, 'console/src'), { recursive: true });
    writeFileSync(join(root, 'console/vite.config.ts'), 'export default {};\n');
    writeFileSync(join(root, 'console/src/app.tsx'), 'export {};\n');
    writeFileSync(join(root, 'console/src/styles.css'), '\n');
    writeFileSync(join(root, 'console/src/format.test.ts'), 'export {};\n');
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/main.js'), '');
    writeFileSync(join(root, 'dist/.build-stamp'), '');
    for (const file of ['src/main.ts', 'tsconfig.json', 'tsconfig.build.json', 'console/vite.config.ts']) {
      touch(join(root, file), 999_000);
    }
    touch(join(root, 'console/src/app.tsx'), 999_000);
    touch(join(root, 'console/src/styles.css'), 999_000);
    touch(join(root, 'dist/.build-stamp'), 1_000_000);
    assert.equal(buildState(root), 'missing', 'no dist/console/index.html yet');
    mkdirSync(join(root, 'dist/console'));
    writeFileSync(join(root, 'dist/console/index.html'), '');
    assert.equal(buildState(root), 'fresh');
    touch(join(root, 'console/src/format.test.ts'), 2_000_000);
    assert.equal(buildState(root), 'fresh', 'a console test file needs no rebuild');
    touch(join(root, 'console/src/styles.css'), 1_000_001);
    assert.equal(buildState(root), 'stale');
  });
});
