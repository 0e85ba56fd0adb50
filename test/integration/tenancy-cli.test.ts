/**
 * `llm-gateway orgs …` / `teams …` and `keys create --team` against the embedded database (PGlite in a
 * temporary directory): the same repository, rules and audit log as the admin API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runKeysCommand, UsageError } from '../../src/cli/keys.js';
import { runTenancyCommand } from '../../src/cli/tenancy.js';
import { loadConfig } from '../../src/config/load.js';

describe('orgs and teams CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-tenancy-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({ env: { GATEWAY_DATA_DIR: dir } });
  const run = async (kind: 'org' | 'team', args: string[]) => {
    let out = '';
    const code = await runTenancyCommand(kind, args, config, { out: (t) => (out += t) });
    return { code, out };
  };

  test('create, list, update, delete; keys land in the team and its organization', async () => {
    const org = await run('org', ['create', '--name', 'acme', '--rpm', '600', '--monthly-budget', '2000']);
    assert.equal(org.code, 0);
    const orgId = /^(org_\w+)/.exec(org.out)?.[1] as string;
    assert.match(org.out, /monthly=\$2000 rpm=600/);
    const team = await run('team', ['create', '--name', 'search', '--org', orgId, '--daily-budget', '50']);
    const teamId = /^(team_\w+)/.exec(team.out)?.[1] as string;
    assert.match(team.out, new RegExp(`org=${orgId}`));
    assert.match((await run('team', ['list', '--org', orgId])).out, /search/);
    const updated = await run('team', ['update', teamId, '--daily-budget', 'none', '--tpm', '1000']);
    assert.equal((JSON.parse(updated.out) as { daily_budget_usd: unknown }).daily_budget_usd, null);
    const guarded = await run('team', ['update', teamId, '--guardrails', 'pii']);
    assert.deepEqual((JSON.parse(guarded.out) as { guardrails: string[] }).guardrails, ['pii']);
    await assert.rejects(run('team', ['update', teamId, '--guardrails', 'nope']), /no policy named "nope"/);
    const cleared = await run('team', ['update', teamId, '--guardrails', 'none']);
    assert.deepEqual((JSON.parse(cleared.out) as { guardrails: string[] }).guardrails, []);
    let keyOut = '';
    await runKeysCommand(['create', '--name', 'k', '--team', teamId, '--role', 'team_admin'], config, {
      out: (t) => (keyOut += t),
    });
    assert.match(keyOut, new RegExp(`team=${teamId}  role=team_admin`));
    await assert.rejects(run('team', ['update', teamId, '--rpm', '0']), UsageError);
    await assert.rejects(run('team', ['delete', teamId]), /active key/);
    await assert.rejects(run('org', ['create']), UsageError);
  });
});
