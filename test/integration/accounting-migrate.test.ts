/** `llm-gateway migrate` applies the migrations to PostgreSQL (DATABASE_URL) and to a PGlite directory. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, requireServices } from '../helpers/services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/llm-gateway.mjs');
const run = (env: Record<string, string>) =>
  spawnSync(process.execPath, [bin, 'migrate'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });

test('llm-gateway migrate on PostgreSQL creates usage_records with its indexes; a second run is a no-op', {
  skip: await requireServices('postgres'),
}, async () => {
  const database = await createTestDatabase('migrate');
  try {
    const first = run({ DATABASE_URL: database.url });
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stdout,
      /database \(postgres\) is up to date:\n(?: {2}✓ \S+\n)* {2}✓ 0002_usage_records\n {2}✓ 0003_request_ids\n/,
    );
    assert.equal(run({ DATABASE_URL: database.url }).status, 0);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ indexname: string }>(
      `select indexname from pg_indexes where tablename = 'usage_records' order by indexname`,
    );
    const columns = await client.query<{ column_name: string; is_nullable: string }>(
      `select column_name, is_nullable from information_schema.columns
        where table_name = 'usage_records' and column_name in ('client_request_id', 'endpoint')
        order by column_name`,
    );
    await client.end();
    assert.deepEqual(columns.rows, [
      { column_name: 'client_request_id', is_nullable: 'YES' },
      { column_name: 'endpoint', is_nullable: 'YES' },
    ]);
    assert.deepEqual(
      rows.map((r) => r.indexname),
      [
        'usage_records_experiment_idx',
        'usage_records_pkey',
        'usage_records_timestamp_idx',
        'usage_records_user_timestamp_idx',
      ],
    );
  } finally {
    await database.drop();
  }
});

test('llm-gateway migrate on a PGlite directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-migrate-'));
  try {
    const out = run({ GATEWAY_DATA_DIR: join(dir, 'pglite') });
    assert.equal(out.status, 0, out.stderr);
    assert.match(out.stdout, /database \(pglite\) is up to date/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
