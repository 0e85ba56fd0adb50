#!/usr/bin/env node
// Runs the runtime-sensitive tests on every supported Node.js major (DESIGN §14: Node 20, 22, 24 and 26) with
// that version fetched from the npm registry (`npx -y node@N`). The full suite runs on the machine's Node
// (`npm test`); this subset covers what differs between majors: the HTTP server and streams, undici and the
// SDK clients, PGlite's WebAssembly and V8's tiering flags, the embedding model in worker threads, the real process (signals,
// graceful shutdown) and the compiled build.
//
//   node scripts/test-node-versions.mjs [22 24 26 …]      default: 22, 24 and 26 (20 is the machine's own)
import { spawnSync } from 'node:child_process';

const FILES = [
  'test/integration/chat-openai.test.ts',
  'test/integration/openai-sdk.test.ts',
  'test/integration/keys-pglite.test.ts',
  'test/integration/pglite-pool.test.ts',
  'test/integration/cache-semantic-model.test.ts',
  'test/integration/process.test.ts',
  'test/integration/start-build.test.ts',
  'src/cache/semantic/embed-pool.test.ts',
  'src/core/wasm-tiering.test.ts',
  // V8 and Linux settings applied at run time (decisions 0186, 0187).
  'src/server/v8-heap.test.ts',
  'src/server/thread-priority.test.ts',
  'src/core/abort.test.ts',
  'src/core/live-list.test.ts',
  'src/server/sse-writer.test.ts',
  'src/providers/sse.test.ts',
];

const versions = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['22', '24', '26'];
let failed = 0;
for (const version of versions) {
  process.stdout.write(`\n== Node ${version}: ${FILES.length} test files\n`);
  const run = spawnSync(
    'npx',
    ['-y', `node@${version}`, 'scripts/run-tests.mjs', ...FILES, '--no-coverage'],
    {
      stdio: 'inherit',
      env: { ...process.env, npm_config_yes: 'true' },
    },
  );
  if (run.status !== 0) {
    failed++;
    process.stdout.write(`== Node ${version}: FAILED (exit ${run.status})\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
