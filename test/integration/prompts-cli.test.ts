/**
 * `llm-gateway prompts …` against PostgreSQL (in process: `runPromptsCommand`, the function the bin calls):
 * create from a file, next version, label, diff, show, export and an idempotent import of the export, a
 * changed stored version refused, archive; every change, imports included, in the audit log.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { UsageError } from '../../src/cli/keys.js';
import { runPromptsCommand } from '../../src/cli/prompts.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skip = await requireServices('postgres');

describe('llm-gateway prompts', { skip }, () => {
  let db: TestDatabase;
  let config: Config;
  let dir: string;
  const run = async (...args: string[]) => {
    let out = '';
    const code = await runPromptsCommand(args, config, { out: (t) => (out += t) });
    return { code, out };
  };

  before(async () => {
    db = await createTestDatabase('prompts_cli');
    config = loadConfig({ env: { DATABASE_URL: db.url } });
    dir = await mkdtemp(join(tmpdir(), 'prompts-cli-'));
  });
  after(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  test('create, version, label, diff, show, list', async () => {
    await writeFile(
      join(dir, 'v1.yaml'),
      'messages:\n  - role: system\n    content: "Answer in {{language}}."\nmodel: gpt-4o-mini\nnote: first\n',
    );
    await writeFile(
      join(dir, 'v2.yaml'),
      'messages:\n  - role: system\n    content: "Answer briefly in {{language}}."\n',
    );
    assert.match((await run('create', 'greet', '--file', join(dir, 'v1.yaml'))).out, /greet v1/);
    assert.match((await run('version', 'greet', '--file', join(dir, 'v2.yaml'))).out, /greet v2/);
    assert.equal((await run('label', 'greet', 'production', '1')).out, 'greet: production → v1\n');
    assert.equal((await run('label', 'greet', 'production', '2')).out, 'greet: production → v2 (was v1)\n');
    const diff = await run('diff', 'greet', '1', '2');
    assert.match(diff.out, /^-Answer in \{\{language\}\}\.$/m);
    assert.match(diff.out, /^\+Answer briefly in \{\{language\}\}\.$/m);
    assert.match((await run('show', 'greet', '--label', 'production')).out, /greet v2/);
    assert.match((await run('list')).out, /greet {2}latest=v2 {2}production=v2/);
  });

  test('export, then import of the export is idempotent; a changed stored version is refused', async () => {
    const path = join(dir, 'greet.yaml');
    await run('export', 'greet', '--out', path);
    const text = await readFile(path, 'utf8');
    assert.match(text, /id: greet/);
    assert.equal(
      (await run('import', path)).out,
      'greet: added nothing, unchanged v1,v2, labels production=v2\n',
    );

    // The file grows a version 3 and moves staging to it: only v3 is added.
    const grown = text
      .replace('labels:\n  production: 2', 'labels:\n  production: 2\n  staging: 3')
      .concat('  - messages:\n      - role: user\n        content: hi\n');
    await writeFile(path, grown);
    assert.equal(
      (await run('import', path)).out,
      'greet: added v3, unchanged v1,v2, labels production=v2 staging=v3\n',
    );
    // Editing version 1 in the file is refused: stored versions never change.
    await writeFile(path, grown.replace('Answer in', 'Reply in'));
    await assert.rejects(run('import', path), /version 1 differs/);

    // A new prompt from a file, created by import.
    await writeFile(join(dir, 'new.yaml'), 'id: fresh\nmessages:\n  - role: user\n    content: hello\n');
    assert.equal((await run('import', join(dir, 'new.yaml'))).out, 'fresh: created, added v1\n');
    assert.equal((await run('import', join(dir, 'new.yaml'))).out, 'fresh: added nothing, unchanged v1\n');
  });

  test('import writes the audit log like create, version and label do', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ actor: string; action: string; target: string; details: string }>(
        "select actor, action, target, details::text from audit_log where action like 'prompt.%' order by id",
      );
      const entries = rows.map((r) => [r.action, r.target, JSON.parse(r.details).version ?? null]);
      // By import: greet v3 (appended), the staging label, and the new prompt fresh with its v1.
      for (const entry of [
        ['prompt.version', 'greet', 3],
        ['prompt.label', 'greet', 3],
        ['prompt.create', 'fresh', 1],
      ]) {
        assert.ok(
          entries.some((e) => JSON.stringify(e) === JSON.stringify(entry)),
          `${JSON.stringify(entry)} in ${JSON.stringify(entries)}`,
        );
      }
      assert.ok(rows.every((r) => r.actor.startsWith('cli:')));
    } finally {
      await client.end();
    }
  });

  test('archive; bad arguments are usage errors', async () => {
    assert.equal((await run('archive', 'fresh')).out, 'fresh: archived\n');
    assert.doesNotMatch((await run('list')).out, /fresh/);
    assert.match((await run('list', '--all')).out, /fresh .*archived/);
    await assert.rejects(run('label', 'greet', 'production', 'x'), UsageError);
    // Beyond any version number: a usage error, not the database's integer-out-of-range error.
    await assert.rejects(run('label', 'greet', 'production', '2147483648'), UsageError);
    await assert.rejects(run('diff', 'greet', '1', '99999999999'), UsageError);
    await assert.rejects(run('nope'), UsageError);
    await assert.rejects(run('show', 'missing'), /No prompt 'missing'/);
  });
});
