/**
 * The console's build: its JavaScript stays within 300 KB gzipped (DESIGN §18: small, no CDN), every asset
 * the page loads is its own (same origin, under /console/assets/), and asset names carry a content hash
 * (the gateway caches them for good).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { ensureConsoleBuilt, ROOT } from './browser.js';

const LIMIT = 300 * 1024;

test('the console bundle is at most 300 KB gzipped and loads nothing from elsewhere', () => {
  ensureConsoleBuilt();
  const dir = join(ROOT, 'dist/console');
  const assets = readdirSync(join(dir, 'assets'));
  const scripts = assets.filter((name) => name.endsWith('.js'));
  assert.ok(scripts.length > 0);
  const gzipped = scripts.reduce(
    (n, name) => n + gzipSync(readFileSync(join(dir, 'assets', name))).length,
    0,
  );
  assert.ok(gzipped <= LIMIT, `${gzipped} bytes gzipped > ${LIMIT}`);
  for (const name of assets) assert.match(name, /-[A-Za-z0-9_-]{8}\.(js|css)$/, name);
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
  assert.ok(urls.length >= 2);
  for (const url of urls) assert.ok(url.startsWith('/console/assets/') || url === 'data:,', url);
});
