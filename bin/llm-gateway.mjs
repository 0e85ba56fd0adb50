#!/usr/bin/env node
// The `llm-gateway` command (and `npm start`): runs the compiled build in dist/, building it first when it
// is missing or older than the sources (bin/build.mjs says when and how). Development runs the TypeScript
// sources through tsx instead: `npm run dev`.
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBuild } from './build.mjs';

const root = dirname(dirname(fileURLToPath(import.meta.url)));

try {
  ensureBuild(root);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import(pathToFileURL(`${root}/dist/main.js`).href);
