/**
 * Budget counters on the memory store survive a gateway restart (embedded PGlite on disk): the restarted
 * gateway seeds each counter from the usage rollups at its first request (decision 0145), so a team's
 * total budget and an end user's daily budget still refuse what was spent before the restart.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { reservationMicros, reservedPromptTokens } from '../../src/accounting/budgets.js';
import { PriceTable } from '../../src/accounting/pricing.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { chatWith, created } from '../helpers/tenancy.js';

const ADMIN = 'admin-SECRET-seed-embedded-0123456';
const MAX_TOKENS = 50;
const body = { model: 'gpt-4o-mini', max_tokens: MAX_TOKENS, messages: userMessage() } as ChatRequest;
const price = new PriceTable().priceOf('gpt-4o-mini');
assert.ok(price);
const prompt = reservedPromptTokens(body);
const worst = reservationMicros(price, prompt, MAX_TOKENS);
const budgetFor = (n: number) => (n * worst + 1) / 1e6;

let mock: MockUpstream;
let dir: string;
let gw: TestGateway | undefined;
const start = () =>
  startGateway({
    mock,
    env: {
      GATEWAY_ADMIN_KEY: ADMIN,
      GATEWAY_DATA_DIR: dir,
      USAGE_ENABLED: 'true',
      USAGE_FLUSH_INTERVAL_MS: '20',
    },
  });

before(async () => {
  mock = await MockUpstream.start();
  mock.setAnswer({ usage: { prompt, completion: MAX_TOKENS, cached: 0 } });
  dir = mkdtempSync(join(tmpdir(), 'gw-seed-'));
});
after(async () => {
  await gw?.close();
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('after a restart on the memory store, total and end-user budgets still count the spend before it', async () => {
  gw = await start();
  assert.equal(gw.gateway.stores.database().kind, 'pglite');
  const team = await created(gw, ADMIN, '/admin/teams', {
    name: 't',
    total_budget_usd: budgetFor(3),
    end_user_limits: { daily_budget_usd: budgetFor(1) },
  });
  const key = await created(gw, ADMIN, '/admin/keys', { name: 'k', team_id: team.id, allow_end_users: true });
  assert.equal((await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'alice' })).status, 200);
  assert.equal((await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'bob' })).status, 200);
  await gw.close(); // the usage writer flushes its queue on close
  gw = await start();

  const alice = await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'alice' });
  assert.equal(alice.status, 429, "alice's daily budget was spent before the restart");
  assert.equal(alice.error?.param, 'user');
  assert.equal((await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'carol' })).status, 200);
  const dave = await chatWith(gw, key.key, { max_tokens: MAX_TOKENS, user: 'dave' });
  assert.equal(dave.status, 429, 'the team total: two before the restart, one after');
  assert.equal(dave.error?.param, 'team');
});
