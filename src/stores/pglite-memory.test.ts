import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import pino from 'pino';
import { createMetrics } from '../telemetry/metrics.js';
import { openDatabase } from './database.js';
import { initPgliteDataDir, PGLITE_MEMORY_SETTINGS, pgliteStartParams } from './pglite-memory.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-pglite-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a new data directory is created in a child process; an existing one is left as it is', async () => {
  const dataDir = join(dir, 'init');
  const params = pgliteStartParams(PGlite.defaultStartParams);
  assert.equal(await initPgliteDataDir(dataDir, params), true);
  assert.ok(existsSync(join(dataDir, 'PG_VERSION')), 'initdb ran');
  assert.equal(await initPgliteDataDir(dataDir, params), true);
});

test('the embedded database runs with the bounded buffers (file and memory)', async () => {
  for (const dataDir of [join(dir, 'file'), 'memory://']) {
    const database = openDatabase(
      { url: null, dataDir },
      { logger: pino({ level: 'silent' }), metrics: createMetrics({ processMetrics: false }) },
    );
    await database.ready;
    for (const [name, value] of Object.entries(PGLITE_MEMORY_SETTINGS)) {
      const { rows } = await sql<Record<string, string>>`select current_setting(${name}) as v`.execute(
        database.db,
      );
      assert.equal(rows[0]?.v, value, `${dataDir}: ${name}`);
    }
    await database.close();
  }
});
