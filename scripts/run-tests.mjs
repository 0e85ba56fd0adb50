#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node:test and tsx, under c8 so the
// run ends with the line coverage of src/ (settings in .c8rc.json; reports in coverage/, which git ignores).
// Node 20's `--test` does not expand globs itself, so the files are found here.
//
//   node scripts/run-tests.mjs [folders or files…] [--node-flags…] [--no-coverage]
//
// Flags starting with `--` go to node (`--test-name-pattern=…`), except `--no-coverage`, which runs the tests
// without c8. The exit code is the test run's: c8 passes the child's code through (no threshold is set).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const args = process.argv.slice(2);
const coverage = !args.includes('--no-coverage');
const roots = args.filter((a) => !a.startsWith('--'));
const passThrough = args.filter((a) => a.startsWith('--') && a !== '--no-coverage');

/** @param {string} dir @returns {string[]} */
function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

// Folders are searched; files are taken as they are (`npm test -- test/integration/x.test.ts`).
const files = (roots.length > 0 ? roots : ['src', 'test'])
  .flatMap((root) => (statSync(root).isDirectory() ? findTests(root) : [root]))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const nodeArgs = ['--import', 'tsx', '--test', '--test-reporter=spec', ...passThrough, ...files];
// c8 sets NODE_V8_COVERAGE, which every test subprocess inherits; the coverage is mapped back to the .ts
// sources through the inline source maps tsx emits. c8 reads .c8rc.json from the working directory.
const c8 = createRequire(import.meta.url).resolve('c8/bin/c8.js');
const child = spawn(process.execPath, coverage ? [c8, process.execPath, ...nodeArgs] : nodeArgs, {
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
