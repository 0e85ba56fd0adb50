// The web console's build (DESIGN §18): Preact + TypeScript, bundled by Vite into dist/console/ at the repo
// root, served by the gateway at /console/ (server/routes/console.ts). `node bin/build.mjs` runs it.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // JSX through oxc (Vite 8) with Preact's automatic runtime: no React, no Babel.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The bundle must stay small (≤ 300 KB gzipped, test/console/bundle.test.ts): no source maps shipped.
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
