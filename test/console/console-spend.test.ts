/**
 * The console's Spend page in a real browser (Debian's Chromium through playwright-core), in a browser set
 * to America/Los_Angeles, against the demo gateway with usage records written straight into its database:
 * the total is the range's real total when the grouped rows were cut at 1,000 and when tags overlap; a cut
 * table and a cut export say so; the day chart labels UTC days; the category axis has one label per bar,
 * teams and keys by name; every amount has the same precision; unpriced requests are never a bare $0.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type Demo, startDemo } from '../../src/demo/run.js';
import { insertUsageBatch, type UsageRow } from '../../src/stores/usage-rollups.js';
import { launchChromium } from '../helpers/browser.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { browserMissing, ensureConsoleBuilt } from './browser.js';

const skip = browserMissing();
const ADMIN = 'admin-SECRET-console-spend-0123456789';
/** One request each, more than the CSV export's 10,000 rows (and the table's 1,000). */
const MANY_USERS = 10_050;

/**
 * Records the text the page's last chart draw put on its canvas (the axes' labels), with where:
 * `window.__drawn`. uPlot clears the canvas before each draw, so a clear starts the list again.
 */
const RECORD_CANVAS_TEXT = `
  window.__drawn = [];
  const { clearRect, fillText } = CanvasRenderingContext2D.prototype;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    window.__drawn = [];
    return clearRect.apply(this, args);
  };
  CanvasRenderingContext2D.prototype.fillText = function (text, x, y, ...rest) {
    window.__drawn.push({ text: String(text), x });
    return fillText.call(this, text, x, y, ...rest);
  };
`;

describe('web console: the Spend page (Chromium, America/Los_Angeles)', { skip }, () => {
  let demo: Demo;
  let browser: Browser;
  let page: Page;
  const ids = { searchTeam: '', adsTeam: '', searchKey: '', adsKey: '' };

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
  const record = (n: number, over: Partial<UsageRow>): UsageRow => ({
    timestamp: '2024-01-14T10:00:00.000Z',
    request_id: `spend-page-${n}`,
    user_id: 'alice',
    api_key_id: ids.searchKey,
    model: 'gpt-4o',
    provider: 'openai',
    input_tokens: 1000,
    output_tokens: 500,
    cached_input_tokens: 0,
    cost_usd: '1.000000',
    cached: false,
    cache_type: null,
    saved_usd: '0',
    latency_ms: 5,
    status: 'success',
    http_status: 200,
    estimated: false,
    stream: false,
    prompt_name: null,
    prompt_version: null,
    org_id: null,
    team_id: ids.searchTeam,
    tags: null,
    ...over,
  });
  /** Spend by day: 01-12 $1, 01-13 $2, 01-14 $12 + many users' $0.00045 each, and one unpriced request. */
  const records = (): UsageRow[] => {
    const ads = { team_id: ids.adsTeam, api_key_id: ids.adsKey, user_id: 'bob' };
    const rows = [
      record(0, { timestamp: '2024-01-12T08:00:00.000Z', tags: ['etl', 'nightly'] }),
      record(1, {
        ...ads,
        timestamp: '2024-01-13T08:00:00.000Z',
        model: 'claude-haiku-4-5',
        provider: 'anthropic',
        cost_usd: '2.000000',
        tags: ['etl'],
      }),
      record(2, { cost_usd: '12.000000' }),
      record(3, { ...ads, timestamp: '2024-01-14T23:00:00.000Z', model: 'mystery-model', cost_usd: null }),
    ];
    for (let i = 0; i < MANY_USERS; i++) {
      rows.push(
        record(10 + i, {
          ...ads,
          user_id: `eu-${String(i).padStart(5, '0')}`,
          model: 'gpt-4o-mini',
          cost_usd: '0.000450',
        }),
      );
    }
    return rows;
  };
  const TOTAL = '$19.522500'; // 1 + 2 + 12 + 10,050 × 0.00045

  const groupBy = async (label: string) => {
    await page.getByLabel('Group by').selectOption({ label });
    await page.getByRole('columnheader', { name: label, exact: true }).waitFor();
    await page.waitForLoadState('networkidle');
  };
  const total = async () => (await page.getByTestId('spend-total').textContent()) ?? '';
  /** The table's rows as their cells' text. */
  const table = async () =>
    page
      .locator('.table-wrap table tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
      );
  /** The x axis labels the chart drew (not the y axis's dollars), each with the x positions it was drawn at. */
  const xLabels = async () => {
    const drawn = (await page.evaluate('window.__drawn')) as Array<{ text: string; x: number }>;
    const at = new Map<string, Set<number>>();
    for (const { text, x } of drawn) {
      if (text.startsWith('$') || text === '') continue;
      at.set(text, (at.get(text) ?? new Set()).add(Math.round(x)));
    }
    return at;
  };
  /** Waits until the chart titled `title` is drawn. */
  const drawn = async (title: string) => {
    await page.locator('figure.chart figcaption', { hasText: title }).waitFor();
    await page.evaluate('new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))');
  };

  before(async () => {
    ensureConsoleBuilt();
    demo = await startDemo({
      env: { PORT: '0', GATEWAY_ADMIN_KEY: ADMIN, USAGE_FLUSH_INTERVAL_MS: '50' },
      // 2024-01-15 12:00 UTC: the page's default range is 2023-12-17 … 2024-01-15.
      clock: fakeClock({ seed: 11 }),
      traffic: false,
      latencyScale: 0,
      failureRate: 0,
    });
    ids.searchTeam = String((await admin('POST', '/admin/teams', { name: 'Search <b>&</b> Ranking' })).id);
    ids.adsTeam = String((await admin('POST', '/admin/teams', { name: 'Ads' })).id);
    ids.searchKey = String(
      (await admin('POST', '/admin/keys', { name: 'search-app', team_id: ids.searchTeam })).id,
    );
    ids.adsKey = String((await admin('POST', '/admin/keys', { name: 'ads-app', team_id: ids.adsTeam })).id);
    const rows = records();
    const db = demo.gateway.stores.database().db;
    for (let i = 0; i < rows.length; i += 2_000) await insertUsageBatch(db, rows.slice(i, i + 2_000));

    browser = await launchChromium();
    // West of UTC: a UTC midnight is the evening before here.
    const context = await browser.newContext({
      timezoneId: 'America/Los_Angeles',
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    });
    await context.addInitScript({ content: RECORD_CANVAS_TEXT });
    page = await context.newPage();
    assert.equal(
      await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone),
      'America/Los_Angeles',
    );
    await page.goto(`${demo.url}/console/`);
    await page.getByLabel('Admin key').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Spend' }).click();
    await page.getByRole('heading', { level: 1, name: 'Spend' }).waitFor();
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  test('by user, cut at 1,000 groups: the real total, a note saying so, and an export that asks for 10,000 and says it was cut too', async () => {
    await groupBy('User');
    assert.equal(await total(), TOTAL, 'the range total, not the sum of the 1,000 rows shown');
    assert.equal((await table()).length, 1_000);
    const cut = (await page.getByTestId('spend-cut').textContent()) ?? '';
    assert.match(cut, /top 1,000 users by cost: more users had spend/);

    const asked: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('format=csv')) asked.push(r.url());
    });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    assert.match(asked[0] ?? '', /limit=10000/);
    const lines = readFileSync(await download.path(), 'utf8')
      .trimEnd()
      .split('\r\n');
    assert.equal(lines.length, 1 + 10_000, 'the API maximum, the costliest first');
    assert.match(lines[1] ?? '', /^alice,13,/);
    // 10,052 users had spend: the file is cut, and the page says so (from X-Has-More).
    const exportCut = (await page.getByTestId('spend-export-cut').textContent()) ?? '';
    assert.match(exportCut, /CSV file holds the top 10,000 users by cost only: more had spend/);
  });

  test('by tag: the total is all spend, not the overlapping rows added up, and the page says why', async () => {
    await groupBy('Tag');
    assert.deepEqual(
      (await table()).map((r) => [r[0], r[1]]),
      [
        ['etl', '$3.000000'],
        ['nightly', '$1.000000'],
      ],
    );
    assert.equal(await total(), TOTAL, 'not $4 (the $1 request tagged etl,nightly counted twice)');
    assert.match(
      (await page.getByTestId('spend-tag-note').textContent()) ?? '',
      /A request with several tags counts under each of them/,
    );
    assert.equal(await page.getByTestId('spend-cut').count(), 0, 'two tags: nothing left out');
    assert.equal(await page.getByTestId('spend-export-cut').count(), 0, 'that note was about the users');
  });

  test('by day in Los Angeles: every bar is labelled and hovered with its UTC day', async () => {
    await groupBy('Day');
    await drawn('Cost by day, UTC (USD)');
    assert.deepEqual(
      (await table()).map((r) => [r[0], r[1]]),
      [
        ['2024-01-12', '$1.000000'],
        ['2024-01-13', '$2.000000'],
        ['2024-01-14', '$16.522500 + unpriced'],
      ],
    );
    const labels = await xLabels();
    assert.ok(labels.size > 0, 'the chart drew its axis');
    for (const label of labels.keys())
      assert.match(label, /^\d{4}-\d{2}-\d{2}$/, `a day, not an hour: ${label}`);
    assert.ok(labels.has('2023-12-17') && labels.size < 31, 'the range from its first day, labels that fit');

    // Hover the bar of each day with spend: the legend names that UTC day and its cost.
    const over = page.locator('figure.chart .u-over').first();
    const box = await over.boundingBox();
    assert.ok(box);
    const days = 30; // 2023-12-17 … 2024-01-15
    for (const [day, cost] of [
      ['2024-01-12', '$1.000000'],
      ['2024-01-14', '$16.522500'],
    ] as const) {
      const index = (Date.parse(`${day}T00:00:00Z`) - Date.parse('2023-12-17T00:00:00Z')) / 86_400_000;
      await page.mouse.move(box.x + ((index + 0.5) / days) * box.width, box.y + box.height - 2);
      const legend = page.locator('figure.chart .u-legend');
      await legend.filter({ hasText: day }).waitFor();
      assert.deepEqual(await legend.locator('.u-value').allTextContents(), [day, cost]);
    }
  });

  test('by team: names (ids beside them), one axis label per bar, nothing repeated', async () => {
    await groupBy('Team');
    await drawn('Cost by team, top 10 (USD)');
    assert.deepEqual(await table(), [
      ['Search <b>&</b> Ranking', ids.searchTeam, '$13.000000', '2', '0', '2,000', '1,000'],
      ['Ads', ids.adsTeam, '$6.522500 + unpriced', '10,052', '1', '10,052,000', '5,026,000'],
    ]);
    const labels = await xLabels();
    assert.deepEqual([...labels.keys()].sort(), ['Ads', 'Search <b>&</b>…']);
    for (const [label, xs] of labels) assert.equal(xs.size, 1, `"${label}" drawn at one place only`);
    const yTicks = ((await page.evaluate('window.__drawn')) as Array<{ text: string }>).map((d) => d.text);
    assert.ok(yTicks.includes('$0'), `the bars stand on $0: ${yTicks.join(' ')}`);

    await groupBy('Key');
    const keys = await table();
    assert.deepEqual(
      keys.map((r) => [r[0], r[1]]),
      [
        ['search-app', ids.searchKey],
        ['ads-app', ids.adsKey],
      ],
    );
  });

  test('by model: one precision for every amount; an unpriced model is marked, never a bare $0', async () => {
    await groupBy('Model');
    const rows = await table();
    assert.deepEqual(
      rows.map((r) => [r[0], r[1], r[3]]),
      [
        ['gpt-4o', '$13.000000', '0'],
        ['gpt-4o-mini', '$4.522500', '0'],
        ['claude-haiku-4-5', '$2.000000', '0'],
        ['mystery-model', '$0.000000 + unpriced', '1'],
      ],
    );
    assert.equal(await page.getByRole('columnheader', { name: 'Unpriced' }).count(), 1);
    assert.equal((await page.getByTestId('spend-unpriced').textContent()) ?? '', '1');
    assert.match(
      (await page.locator('p.total').textContent()) ?? '',
      /1 without a known price \(not in the cost\)/,
    );

    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Requests' }).click();
    const mystery = page.getByRole('row').filter({ hasText: 'mystery-model' });
    await mystery.waitFor();
    assert.match((await mystery.textContent()) ?? '', /unpriced/);
    assert.doesNotMatch((await mystery.textContent()) ?? '', /\$0\b/);
  });
});
