#!/usr/bin/env node
// Runs every *.test.ts under the given folders (default: src and test) with node:test and tsx.
// Node 20's `--test` does not expand globs itself, so the files are found here.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passThrough = process.argv.slice(2).filter((a) => a.startsWith('--'));

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
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', ...passThrough, ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
