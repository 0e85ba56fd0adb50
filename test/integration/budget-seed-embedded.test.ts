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

test("a rotated key goes on with its predecessor's spend, stored responses and cache, live and after a restart", async () => {
  await gw?.close();
  gw = await start();
  const first = await created(gw, ADMIN, '/admin/keys', {
    name: 'rotating',
    user_id: 'rot',
    total_budget_usd: budgetFor(3),
  });
  assert.equal((await chatWith(gw, first.key, { max_tokens: MAX_TOKENS })).status, 200);
  const stored = (await (
    await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', input: 'remember me', max_output_tokens: MAX_TOKENS }),
    })
  ).json()) as { id: string };
  const rotate = async (id: string) => {
    const res = await fetch(`${gw?.url}/admin/keys/${id}/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ grace_period_seconds: 0 }),
    });
    assert.equal(res.status, 201);
    return (await res.json()) as { id: string; key: string };
  };
  const second = await rotate(first.id);
  // Live: the counter is the chain's (two spent of three).
  assert.equal((await chatWith(gw, second.key, { max_tokens: MAX_TOKENS })).status, 200);
  const refused = await chatWith(gw, second.key, { max_tokens: MAX_TOKENS });
  assert.equal(refused.status, 429, 'the budget counts the spend of the key it replaced');
  assert.equal(refused.error?.param, 'key');
  const read = await fetch(`${gw.url}/v1/responses/${stored.id}`, {
    headers: { authorization: `Bearer ${second.key}` },
  });
  assert.equal(read.status, 200, "the predecessor's stored response");
  await read.text();
  // After a restart the counter is seeded from every key of the chain, a second rotation included.
  await gw.close();
  gw = await start();
  const third = await rotate(second.id);
  const after = await chatWith(gw, third.key, { max_tokens: MAX_TOKENS });
  assert.equal(after.status, 429, 'seeded with the spend of the whole rotation chain');
  assert.equal(after.error?.param, 'key');
  // A key never rotated is its own chain: unaffected.
  const other = await created(gw, ADMIN, '/admin/keys', {
    name: 'other',
    user_id: 'other',
    total_budget_usd: budgetFor(3),
  });
  assert.equal((await chatWith(gw, other.key, { max_tokens: MAX_TOKENS })).status, 200);
});
