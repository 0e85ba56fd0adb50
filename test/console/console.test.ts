/**
 * The web console in a real browser (Debian's Chromium through playwright-core), against a real gateway
 * (the demo's: simulated upstream, usage recorded): sign in, create a key and see it listed, see a request
 * made with it appear in the request log and the spend change, move around with the keyboard, and find a
 * label on every form field. CONSOLE_SCREENSHOTS=docs/console also saves a screenshot of each page.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { systemClock } from '../../src/core/clock.js';
import { type Demo, startDemo } from '../../src/demo/run.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { browserMissing, ensureConsoleBuilt, launchBrowser, ROOT } from './browser.js';

const skip = browserMissing();
const ADMIN = 'admin-SECRET-console-browser-0123456789';
const SHOTS = process.env.CONSOLE_SCREENSHOTS;

describe('web console (Chromium)', { skip }, () => {
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
  /** Clicks Refresh until `check` passes (usage records are written in batches). */
  const refreshUntil = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 100; i++) {
      if (await check()) return;
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(100);
    }
    assert.fail('the page never showed it');
  };
  const chat = async (apiKey: string, model: string, content: string) => {
    const res = await fetch(`${demo.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content }] }),
    });
    assert.equal(res.status, 200);
    await res.json();
  };

  before(async () => {
    ensureConsoleBuilt();
    demo = await startDemo({
      env: { PORT: '0', GATEWAY_ADMIN_KEY: ADMIN, USAGE_FLUSH_INTERVAL_MS: '50' },
      // Screenshots: real time, so the charts and the log look like a real gateway's.
      clock: SHOTS === undefined ? fakeClock({ seed: 3 }) : systemClock,
      // Screenshots: with the demo's traffic, so the pages have something to show.
      traffic: SHOTS !== undefined,
      latencyScale: SHOTS === undefined ? 0 : 0.2,
      failureRate: 0,
    });
    browser = await launchBrowser();
    context = browser.context;
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  test('/console and /console/ serve the app; a wrong key is refused; the admin key signs in', async () => {
    for (const path of ['/console', '/console/', '/console/requests']) {
      const res = await fetch(`${demo.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      assert.match(await res.text(), /<div id="app">/);
    }
    assert.equal((await fetch(`${demo.url}/console/assets/index-missing.js`)).status, 404);
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(
      await (await fetch(`${demo.url}/console/`)).text(),
    );
    const js = await fetch(`${demo.url}${asset?.[1]}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    await page.goto(`${demo.url}/console`);
    await shot('sign-in');
    await page.getByLabel('Admin key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Invalid admin key' }).waitFor();
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByLabel('Admin key').press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'gw_console');
    assert.ok(cookie);
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(await page.evaluate('document.cookie'), '', 'the session cookie is not readable by scripts');
  });

  let newKey = '';
  test('create a key: it is shown once, then listed', async () => {
    await go('Keys');
    await page.getByLabel('Name').fill('browser-test-key');
    await page.getByLabel('User').fill('browser-user');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByLabel('New key');
    await shown.waitFor();
    newKey = await shown.inputValue();
    assert.match(newKey, /^sk-gw-[A-Za-z0-9_-]{43}$/);
    const row = page.getByRole('row').filter({ hasText: 'browser-test-key' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /browser-user.*active/);
    assert.ok(!((await row.textContent()) ?? '').includes(newKey), 'the table shows a prefix, never the key');
    await shot('keys');
    // Served over plain HTTP to another host there is no Clipboard API: Copy used to do nothing, silently.
    // It now copies the selected field and says so.
    await page.evaluate(
      'Object.defineProperty(Navigator.prototype, "clipboard", { get: () => undefined, configurable: true })',
    );
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await page.getByText(/^\s*(Copied\.|Not copied: the key is selected)/).waitFor();
    assert.equal(
      await page.evaluate<string>(
        'document.activeElement.value.slice(document.activeElement.selectionStart, document.activeElement.selectionEnd)',
      ),
      newKey,
    );
    await page.getByRole('button', { name: 'Done' }).click();
    assert.equal(await page.getByLabel('New key').count(), 0, 'the key is not shown again');
  });

  test('a request made with the new key appears in the request log and changes the spend', async () => {
    await go('Spend');
    await page.getByRole('heading', { level: 1, name: 'Spend' }).waitFor();
    const totalNow = async () => {
      const total = page.getByTestId('spend-total');
      return (await total.count()) === 0
        ? 0
        : Number(((await total.textContent()) ?? '$0').replace(/[$,]/g, ''));
    };
    await page.waitForLoadState('networkidle');
    const before = await totalNow();

    await chat(newKey, 'claude-opus-4-1', 'What does the console show?');

    await go('Requests');
    const row = page.getByRole('row').filter({ hasText: 'claude-opus-4-1' });
    await refreshUntil(async () => (await row.count()) > 0);
    const text = (await row.first().textContent()) ?? '';
    assert.match(text, /200 success/);
    assert.match(text, /browser-user/);
    assert.match(text, /\$\d/);
    await shot('requests');

    await go('Spend');
    await refreshUntil(async () => (await totalNow()) > before);
    await page.getByRole('row').filter({ hasText: 'claude-opus-4-1' }).waitFor();
    await page.getByRole('img', { name: /Cost by model/ }).waitFor();
    await shot('spend');
  });

  test('the overview shows the traffic; routes and cache pages load', async () => {
    await chat(newKey, 'gpt-4o-mini', 'Cache me');
    await chat(newKey, 'gpt-4o-mini', 'Cache me');
    await go('Overview');
    await refreshUntil(async () => (await page.getByText('No traffic yet').count()) === 0);
    await page.getByRole('img', { name: 'Latency (ms)' }).waitFor();
    await shot('overview');
    await go('Routes');
    await page.getByRole('heading', { name: 'Every deployment with a breaker' }).waitFor();
    await shot('routes');
    await go('Cache');
    await page.getByText('Exact hits').waitFor();
    await shot('cache');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Clear cache' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Deleted \d+ entries/ })
      .waitFor();
  });

  test('keyboard: skip link first, the navigation by Tab and Enter, focus on the new page heading', async () => {
    await page.goto(`${demo.url}/console/`);
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Skip to content');
    const visited: string[] = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      visited.push((await page.evaluate('document.activeElement?.textContent')) ?? '');
      if (visited.at(-1) === 'Requests') break;
    }
    assert.deepEqual(visited, ['Overview', 'Teams', 'Keys', 'Spend', 'Requests']);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Requests' }).waitFor();
    assert.equal(await page.evaluate('document.activeElement?.tagName'), 'H1');
    assert.equal(new URL(page.url()).pathname, '/console/requests');
  });

  test('every form field of every page has a label', async () => {
    for (const title of ['Overview', 'Keys', 'Spend', 'Requests', 'Cache']) {
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

  test('signing out ends the session: the admin API refuses the old cookie', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'gw_console');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    const res = await fetch(`${demo.url}/admin/keys`, { headers: { cookie: `gw_console=${cookie?.value}` } });
    assert.equal(res.status, 401);
  });
});
