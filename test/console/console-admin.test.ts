/**
 * The console's administration pages in a real browser (Debian's Chromium through playwright-core) against
 * the demo gateway: teams (create, edit a budget, a 409 shown on delete), keys in a team (create with a
 * role, edit, filter), org and team admins who see only their teams, prompts (create, new version, diff, move a
 * label), an experiment's report, and a stored evaluation run. CONSOLE_SCREENSHOTS=docs/console also saves
 * a screenshot of each of these pages.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type Demo, startDemo } from '../../src/demo/run.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { browserMissing, ensureConsoleBuilt, launchBrowser, ROOT } from './browser.js';

const skip = browserMissing();
const ADMIN = 'admin-SECRET-console-admin-0123456789';
const SHOTS = process.env.CONSOLE_SCREENSHOTS;

describe('web console administration pages (Chromium)', { skip }, () => {
  let demo: Demo;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;

  const shot = async (name: string) => {
    if (!SHOTS) return;
    mkdirSync(join(ROOT, SHOTS), { recursive: true });
    await page.screenshot({ path: join(ROOT, SHOTS, `${name}.png`) });
  };
  const go = async (title: string) => {
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: title }).click();
    await page.getByRole('heading', { level: 1, name: title }).waitFor();
  };
  const signIn = async (key: string) => {
    await page.goto(`${demo.url}/console/`);
    await page.getByLabel('Admin key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  };
  const signOut = async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${demo.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const row = (text: string) => page.getByRole('row').filter({ hasText: text });

  before(async () => {
    ensureConsoleBuilt();
    demo = await startDemo({
      env: { PORT: '0', GATEWAY_ADMIN_KEY: ADMIN, USAGE_FLUSH_INTERVAL_MS: '50' },
      clock: fakeClock({ seed: 5 }),
      traffic: false,
      latencyScale: 0,
      failureRate: 0,
      yamlText: 'feedback:\n  metrics:\n    thumbs_up: { type: boolean }\n',
    });
    browser = await launchBrowser();
    context = browser.context;
    page = await context.newPage();
    await signIn(ADMIN);
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  test('teams: empty state, create two teams, edit a budget, see it listed', async () => {
    await go('Teams');
    await page.getByRole('heading', { name: 'No teams yet' }).waitFor();
    for (const name of ['research', 'support']) {
      await page.getByLabel('Team name').fill(name);
      await page.locator('#new-team-daily').fill('5');
      await page.getByRole('button', { name: 'Create team' }).click();
      await row(name).waitFor();
    }
    assert.match((await row('research').textContent()) ?? '', /\$5\.000000 \/ — \/ —/);
    await page.getByRole('button', { name: 'Edit research' }).click();
    await page.locator('#edit-team-daily').fill('7.5');
    await page.locator('#edit-team-rpm').fill('60');
    await page.getByRole('button', { name: 'Save team' }).click();
    await row('research').filter({ hasText: '$7.50' }).waitFor();
    assert.match((await row('research').textContent()) ?? '', /60 rpm/);
    const team = (await admin('GET', '/admin/teams?name=research')).data as { daily_budget_usd: number }[];
    assert.equal(team[0]?.daily_budget_usd, 7.5, 'the gateway has the new budget');
  });

  let teamAdminKey = '';
  test('keys: create keys in a team with a role, edit one, filter by team; a team in use is not deleted', async () => {
    await go('Keys');
    const create = async (name: string, role: string) => {
      await page.getByLabel('Name', { exact: true }).fill(name);
      await page.getByLabel('Team', { exact: true }).selectOption({ label: 'research' });
      await page.getByLabel('Role', { exact: true }).selectOption(role);
      await page.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByLabel('New key');
      await shown.waitFor();
      const key = await shown.inputValue();
      await page.getByRole('button', { name: 'Done' }).click();
      return key;
    };
    await create('research-app', 'user');
    teamAdminKey = await create('research-lead', 'team_admin');
    await admin('POST', '/admin/keys', {
      name: 'support-app',
      user_id: 'sup',
      team_id: await teamId('support'),
    });
    await page.getByRole('button', { name: 'Edit research-app' }).click();
    await page.locator('#edit-key-monthly').fill('20');
    await page.getByRole('button', { name: 'Save key' }).click();
    await row('research-app').filter({ hasText: '$20.00' }).waitFor();
    assert.match((await row('research-app').textContent()) ?? '', /research\s*user/);
    assert.match((await row('research-lead').textContent()) ?? '', /team_admin/);

    await page.reload();
    await page.getByLabel('Filter by team').selectOption({ label: 'support' });
    await row('support-app').waitFor();
    await row('research-app').waitFor({ state: 'detached' });
    await page.getByLabel('Filter by team').selectOption({ label: 'research' });
    await row('research-app').waitFor();
    assert.equal(await row('support-app').count(), 0);

    await go('Teams');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete research' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /active key.*\(HTTP 409\)/ })
      .waitFor();
    await shot('teams');
  });

  async function teamId(name: string): Promise<string> {
    const teams = (await admin('GET', `/admin/teams?name=${name}`)).data as { id: string }[];
    return teams[0]?.id as string;
  }

  test('a team admin key sees only its team and its keys, and no global-only page', async () => {
    await signOut();
    await signIn(teamAdminKey);
    const nav = page.getByRole('navigation', { name: 'Console' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), [
      'Overview',
      'Teams',
      'Keys',
      'Spend',
      'Requests',
    ]);
    await go('Teams');
    await row('research').waitFor();
    assert.equal(await row('support').count(), 0, 'another team is not shown');
    assert.equal(await page.getByRole('button', { name: 'Create team' }).count(), 0, 'no create (it 403s)');
    assert.equal(await page.getByRole('button', { name: /^(Edit|Delete) / }).count(), 0);
    await go('Keys');
    await row('research-app').waitFor();
    assert.equal(await row('support-app').count(), 0);
    // Only keys below its rank can be edited (the API answers 403 otherwise); its own it may rotate.
    await page.getByRole('button', { name: 'Edit research-app' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Edit research-lead' }).count(), 0);
    await page.getByRole('button', { name: 'Rotate research-lead' }).waitFor();
    await signOut();
    await signIn(ADMIN);
  });

  test("an org admin key sees and manages its organization's teams only", async () => {
    const org = (await admin('POST', '/admin/orgs', { name: 'acme' })).id as string;
    await admin('POST', '/admin/teams', { name: 'acme-ml', org_id: org });
    const orgAdmin = (
      await admin('POST', '/admin/keys', { name: 'acme-lead', org_id: org, role: 'org_admin' })
    ).key as string;
    await signOut();
    await signIn(orgAdmin);
    await go('Teams');
    await row('acme-ml').waitFor();
    assert.equal(await row('research').count(), 0, 'a team outside the organization is not shown');
    assert.equal(await page.getByRole('heading', { name: 'Organizations' }).count(), 0);
    assert.equal(await page.getByLabel('Organization id').count(), 0, 'its teams go in its organization');
    await page.getByLabel('Team name').fill('acme-search');
    await page.getByRole('button', { name: 'Create team' }).click();
    await row('acme-search').filter({ hasText: org }).waitFor();
    await signOut();
    await signIn(ADMIN);
  });

  test('prompts: create a prompt and a version, diff them, move a label', async () => {
    await go('Prompts');
    await page.getByRole('heading', { name: 'No prompts yet' }).waitFor();
    await page.getByLabel('Prompt id').fill('support-answer');
    await page.locator('#prompt-system').fill('You are a helpful support agent.');
    await page.locator('#prompt-user').fill('{{question}}');
    await page.getByRole('button', { name: 'Create prompt' }).click();
    await row('support-answer').waitFor();
    await page.getByRole('button', { name: 'Versions of support-answer' }).click();
    await page.getByRole('heading', { name: 'New version of support-answer' }).waitFor();
    await page.locator('#version-system').fill('You are a brief support agent. Answer in one sentence.');
    await page.locator('#version-note').fill('shorter');
    await page.getByRole('button', { name: 'Save new version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved support-answer v2.' }).waitFor();
    const diff = page.getByRole('region', { name: 'Diff v1 to v2' });
    await diff.waitFor();
    const lines = (await diff.locator('div').allTextContents()).map((l) => l.trim());
    assert.ok(lines.includes('- You are a helpful support agent.'), lines.join('\n'));
    assert.ok(lines.includes('+ You are a brief support agent. Answer in one sentence.'), lines.join('\n'));
    await page.getByLabel('Label', { exact: true }).fill('production');
    await page.getByLabel('To version').selectOption('1');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').filter({ hasText: 'production now points at v1.' }).waitFor();
    await page.getByLabel('To version').selectOption('2');
    await page.getByRole('button', { name: 'Move label' }).click();
    await page.getByRole('status').filter({ hasText: 'production now points at v2 (was v1).' }).waitFor();
    await row('support-answer').filter({ hasText: 'production → v2' }).waitFor();
    await shot('prompts');
  });

  test('experiments: start/stop and the per-variant report', async () => {
    await admin('POST', '/admin/experiments', {
      id: 'brevity',
      prompt: { id: 'support-answer', label: 'production' },
      variants: [
        { name: 'long', weight: 1, prompt: { id: 'support-answer', version: 1 } },
        { name: 'brief', weight: 1, prompt: { id: 'support-answer', version: 2 } },
      ],
    });
    const apiKey = (await admin('POST', '/admin/keys', { name: 'exp', user_id: 'exp' })).key as string;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${demo.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [],
          user: `user-${i}`,
          prompt: { id: 'support-answer', label: 'production', variables: { question: 'Hi?' } },
        }),
      });
      const answer = await res.text();
      assert.equal(res.status, 200, answer);
      // Feedback: every answer of the brief version is liked, one of the long version's in three.
      const variant = res.headers.get('x-gateway-prompt-version') === 'support-answer@2' ? 'brief' : 'long';
      const liked = variant === 'brief' || i % 3 === 0;
      const feedback = await fetch(`${demo.url}/v1/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          request_id: res.headers.get('x-gateway-request-id'),
          metric: 'thumbs_up',
          value: liked,
        }),
      });
      assert.ok(feedback.ok, await feedback.text());
    }
    await go('Experiments');
    await row('brevity').filter({ hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Stop brevity' }).click();
    await row('brevity').filter({ hasText: 'stopped' }).waitFor();
    await page.getByRole('button', { name: 'Start brevity' }).click();
    await row('brevity').filter({ hasText: 'running' }).waitFor();
    await page.getByRole('button', { name: 'Report of brevity' }).click();
    const table = page.getByRole('table', { name: 'Variants of brevity' });
    await table.waitFor();
    const requests = async () => {
      let total = 0;
      for (const name of ['long', 'brief']) {
        const cells = await table
          .getByRole('row')
          .filter({ hasText: name })
          .getByRole('cell')
          .allTextContents();
        total += Number(cells[1] ?? 0);
      }
      return total;
    };
    for (let i = 0; i < 100 && (await requests()) < 6; i++) {
      await page.getByRole('button', { name: 'Refresh report' }).click();
      await page.waitForTimeout(100);
    }
    assert.equal(await requests(), 6, 'every request counted in a variant');
    const header = await table.getByRole('columnheader').allTextContents();
    for (const column of ['Requests', 'Cost / request', 'Latency p50', 'Latency p95', 'Error rate']) {
      assert.ok(header.includes(column), `${column} in ${header.join(', ')}`);
    }
    assert.match(
      (await table.getByRole('row').filter({ hasText: 'brief' }).textContent()) ?? '',
      /\$\d.*0\.0 %/,
    );
    await shot('experiments');
  });

  test('evaluations: an empty state, then a stored run and its report per target and metric', async () => {
    await go('Evaluations');
    await page.getByRole('heading', { name: 'No evaluation runs yet' }).waitFor();
    await admin('POST', '/admin/evals/runs', {
      id: 'qa-nightly',
      name: 'nightly QA',
      dataset: 'qa.jsonl',
      dataset_sha256: 'a'.repeat(64),
      item_count: 2,
      targets: ['gpt-4o-mini', 'claude-haiku'],
    });
    const result = (item: string, target: string, exact: number) => ({
      item_id: item,
      target,
      tags: [],
      question: 'Capital of France?',
      answer: 'Paris',
      reference: 'Paris',
      error: null,
      scores: { exact_match: exact, latency_ms: 120 },
      unscored: {},
      notes: {},
      judge: {},
      ttft_ms: 40,
      total_ms: 120,
      input_tokens: 10,
      output_tokens: 2,
      cost_usd: 0.0001,
      judge_cost_usd: 0,
      cache: null,
      request_id: null,
      retries: 0,
    });
    await admin('POST', '/admin/evals/runs/qa-nightly/results', {
      results: [
        result('q1', 'gpt-4o-mini', 1),
        result('q2', 'gpt-4o-mini', 0),
        result('q1', 'claude-haiku', 1),
        result('q2', 'claude-haiku', 1),
      ],
    });
    await admin('PATCH', '/admin/evals/runs/qa-nightly', { status: 'finished', finished: true });
    await page.getByRole('button', { name: 'Refresh' }).click();
    await row('qa-nightly').filter({ hasText: 'finished' }).waitFor();
    await page.getByRole('button', { name: 'Report of qa-nightly' }).click();
    const table = page.getByRole('table', { name: 'Report of qa-nightly' });
    await table.waitFor();
    const exact = table.getByRole('row').filter({ hasText: 'exact_match' });
    assert.equal(await exact.count(), 2, 'one row per target');
    assert.match((await exact.nth(0).textContent()) ?? '', /gpt-4o-mini.*exact_match0\.5/);
    assert.match((await exact.nth(1).textContent()) ?? '', /claude-haiku.*exact_match1 \[1, 1\]/);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download results (JSONL)' }).click();
    const file = await download;
    assert.equal(file.suggestedFilename(), 'qa-nightly-results.jsonl');
    await shot('evals');
  });

  test('every form field of the new pages has a label', async () => {
    for (const title of ['Teams', 'Keys', 'Prompts', 'Experiments', 'Evaluations']) {
      await go(title);
      await page.waitForLoadState('networkidle');
      const unlabelled = await page.evaluate<
        string[]
      >(`[...document.querySelectorAll('input, select, textarea')]
        .filter((field) => field.labels.length === 0 && !field.getAttribute('aria-label'))
        .map((field) => field.outerHTML)`);
      assert.deepEqual(unlabelled, [], title);
    }
  });

  test('keyboard: open a team for editing and save it without a mouse', async () => {
    await go('Teams');
    await page.getByRole('button', { name: 'Edit support' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('#edit-team-monthly').focus();
    await page.keyboard.type('50');
    await page.keyboard.press('Enter');
    await row('support').filter({ hasText: '$50.00' }).waitFor();
  });

  test('names, models and metadata with HTML render as text; wide tables scroll inside the page', async () => {
    const html = '<img src=x class=injected onerror=alert(1)><b>bold</b>';
    const org = (await admin('POST', '/admin/orgs', { name: `org ${html}`, metadata: { note: html } }))
      .id as string;
    const team = (
      await admin('POST', '/admin/teams', { name: `team ${html}`, org_id: org, allowed_models: [html] })
    ).id as string;
    await admin('POST', '/admin/keys', { name: `key ${html}`, team_id: team, allowed_models: [html] });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    for (const title of ['Teams', 'Keys']) {
      await go('Overview');
      await go(title);
      await row(`${title === 'Teams' ? 'team' : 'key'} ${html}`)
        .first()
        .waitFor();
      assert.equal(await page.locator('.injected, main b').count(), 0, `${title}: no element from a name`);
      // The visually hidden table captions stayed inside their scroller: the page itself does not scroll
      // sideways at a laptop's width (the header and the table's scrollbar stay where they belong).
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      assert.equal(overflow, 0, `${title}: the page is ${overflow}px wider than the window`);
    }
    assert.deepEqual(dialogs, []);
  });

  test("editing a key's name leaves its expiry to the second", async () => {
    const made = await admin('POST', '/admin/keys', {
      name: 'expiring-app',
      user_id: 'exp',
      expires_at: '2030-01-01T00:00:30Z',
    });
    await go('Overview');
    await go('Keys');
    await page.getByRole('button', { name: 'Edit expiring-app' }).click();
    await page.getByLabel('Key name').fill('expiring-app-2');
    await page.getByRole('button', { name: 'Save key' }).click();
    await row('expiring-app-2').waitFor();
    // The form holds minutes: sending it back unchanged moved the expiry 30 s earlier.
    assert.equal((await admin('GET', `/admin/keys/${made.id}`)).expires_at, '2030-01-01T00:00:30.000Z');
  });

  test('a session replaced in another tab: a change says so and the page shows the current session', async () => {
    const second = await context.newPage();
    await second.goto(`${demo.url}/console/`);
    await second.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await go('Overview');
    await go('Keys');
    // The other tab signs out and in with a team admin key: the browser's cookie is now that session.
    await second.getByRole('button', { name: 'Sign out' }).click();
    await second.getByLabel('Admin key').fill(teamAdminKey);
    await second.getByRole('button', { name: 'Sign in' }).click();
    await second.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // This tab still shows the global admin: its change used to fail with a CSRF message, the header
    // still saying "Global admin".
    await page.getByLabel('Name', { exact: true }).fill('from-the-old-tab');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByText('The console session changed in another tab').waitFor();
    await page.getByText('Team admin ·').waitFor();
    const keys = (await admin('GET', '/admin/keys?limit=1000')).data as Array<{ name: string }>;
    assert.ok(!keys.some((k) => k.name === 'from-the-old-tab'), 'nothing was created');
    // Signed out in the other tab: this one goes back to sign-in and says why.
    await second.getByRole('button', { name: 'Sign out' }).click();
    await second.getByLabel('Admin key').waitFor();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Spend' }).click();
    await page.getByLabel('Admin key').waitFor();
    await page.getByText('Your console session ended').waitFor();
    await second.close();
    await signIn(ADMIN);
  });
});
