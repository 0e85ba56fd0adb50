/**
 * `llm-gateway keys create|list|rotate|revoke` against PostgreSQL, through the real bin: the key is printed
 * once, the database holds only its hash, the audit log names the CLI user, bad arguments exit 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/llm-gateway.mjs');

function run(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'keys', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('llm-gateway keys', { skip }, () => {
  let db: TestDatabase;
  let env: Record<string, string>;
  before(async () => {
    db = await createTestDatabase('keys_cli');
    env = { DATABASE_URL: db.url };
  });
  after(async () => {
    await db?.drop();
  });

  test('create, list, rotate, revoke; the key printed once and stored as a hash; audited as the CLI', async () => {
    const created = await run(
      [
        'create',
        '--name',
        'batch',
        '--user',
        'etl',
        '--tier',
        'pro',
        '--models',
        'gpt-4o-mini,smart',
        '--daily-budget',
        '12.5',
      ],
      env,
    );
    assert.equal(created.status, 0, created.stderr);
    const key = /key: (sk-gw-[\w-]{43})/.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    const id = /^(key_\w+)/m.exec(created.stdout)?.[1];
    assert.ok(id);

    const listed = await run(['list', '--json'], env);
    assert.equal(listed.status, 0, listed.stderr);
    const keys = JSON.parse(listed.stdout) as Array<{
      id: string;
      tier: string;
      allowed_models: string[];
      daily_budget_usd: number;
    }>;
    assert.deepEqual(
      keys.map((k) => [k.id, k.tier, k.allowed_models, k.daily_budget_usd]),
      [[id, 'pro', ['gpt-4o-mini', 'smart'], 12.5]],
    );
    assert.ok(!listed.stdout.includes(key), 'list never shows the secret');

    const rotated = await run(['rotate', id, '--grace', '60'], env);
    assert.equal(rotated.status, 0, rotated.stderr);
    assert.match(rotated.stdout, /key: sk-gw-/);
    const revoked = await run(['revoke', id], env);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /revoked/);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const audit = (await client.query('select actor, action, target, details from audit_log order by id'))
      .rows;
    const stored = (await client.query('select key_hash from api_keys where id = $1', [id])).rows;
    await client.end();
    assert.deepEqual(
      audit.map((r) => r.action),
      ['key.create', 'key.rotate', 'key.revoke'],
    );
    assert.ok(audit.every((r) => String(r.actor).startsWith('cli:') && r.target === id));
    assert.ok(!JSON.stringify(audit).includes(key));
    assert.match(stored[0].key_hash, /^[0-9a-f]{64}$/);
  });

  test('bad arguments exit 2 naming the problem', async () => {
    const noUser = await run(['create', '--name', 'x'], env);
    assert.equal(noUser.status, 2);
    assert.match(noUser.stderr, /--user is required/);
    const badTier = await run(['create', '--name', 'x', '--user', 'u', '--tier', 'gold'], env);
    assert.equal(badTier.status, 2);
    assert.match(badTier.stderr, /--tier must be one of free, pro, enterprise/);
    const unknown = await run(['revoke', 'key_nope'], env);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /No API key with id "key_nope"/);
  });
});
