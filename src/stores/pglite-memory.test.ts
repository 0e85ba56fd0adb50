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
import {
  compiledWithLiftoff,
  initPgliteDataDir,
  PGLITE_MEMORY_SETTINGS,
  pgliteStartParams,
  wasmFlagsGiven,
} from './pglite-memory.js';

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

test("PGlite is compiled with Liftoff only unless the operator set V8's WebAssembly flags", async () => {
  assert.equal(wasmFlagsGiven([], undefined), false);
  assert.equal(wasmFlagsGiven(['--max-old-space-size=512'], '--enable-source-maps'), false);
  assert.equal(wasmFlagsGiven(['--liftoff-only'], undefined), true);
  assert.equal(wasmFlagsGiven([], '--no-wasm-tier-up'), true);
  // The open's result and its failure come through; the flags are restored either way (a database opens
  // and answers afterwards: the tests above and below run in the same process).
  const none = { execArgv: [], nodeOptions: undefined };
  assert.equal(await compiledWithLiftoff(async () => 42, none), 42);
  await assert.rejects(
    compiledWithLiftoff(async () => Promise.reject(new Error('open failed')), none),
    /open failed/,
  );
  const db = await compiledWithLiftoff(() => PGlite.create(), none);
  assert.equal((await db.query<{ n: number }>('select 1 + 1 as n')).rows[0]?.n, 2);
  await db.close();
});
