/**
 * Every attempt a provider may bill is billed (DESIGN §7; docs/decisions/0082), end to end: budgets in the
 * real Redis, usage records in a real PostgreSQL database, the gateway against the mock upstream.
 *
 * - `n` is reserved: a request whose n × max_tokens does not fit the budget is refused before any call.
 * - A stream the client abandons, a call that timed out, a call the client abandoned while waiting, and a
 *   stream that failed after the provider accepted it (then fell back) each leave a usage record with a
 *   non-zero estimated cost, and the budget's spent amount grows by exactly that cost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { periodsOf } from '../../src/accounting/budgets.js';
import { microsOf, PriceTable } from '../../src/accounting/pricing.js';
import { approximatePromptTokens } from '../../src/accounting/tokens.js';
import type { ChatRequest } from '../../src/providers/types.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock, TEST_EPOCH_MS } from '../helpers/fake-clock.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import {
  createTestDatabase,
  REDIS_URL,
  requireServices,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';

const skip = await requireServices('redis', 'postgres');
const prices = new PriceTable();
const MINI = prices.priceOf('gpt-4o-mini');
const FOUR_O = prices.priceOf('gpt-4o');
assert.ok(MINI && FOUR_O);
/** The attempt timeout (ms): a hung call times out after this. */
const TIMEOUT_MS = 400;

describe('billing every attempt (budgets in Redis, records in PostgreSQL)', { skip }, () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let database: TestDatabase;
  let redis: Redis;
  const prefix = uniquePrefix('billing');
  const day = periodsOf(TEST_EPOCH_MS).day;
  let users = 0;
  /** A user of its own per test: its own budget counter and records. */
  const newUser = () => `billing-user-${++users}`;
  const chatUrl = () => `${gw.url}/v1/chat/completions`;

  before(async () => {
    // A slow stream (40 content frames, 25 ms apart) gives the client time to leave mid-answer.
    mock = await MockUpstream.start({ frameIntervalMs: 25, chunkCount: 40 });
    database = await createTestDatabase('billing');
    redis = new Redis(REDIS_URL);
    gw = await startGateway({
      mock,
      clock: fakeClock(),
      env: {
        REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        REDIS_COMMAND_TIMEOUT_MS: '2000',
        DATABASE_URL: database.url,
        USAGE_ENABLED: 'true',
        USAGE_FLUSH_INTERVAL_MS: '20',
        LLM_MAX_RETRIES: '2',
      },
      yaml: `
upstream: { timeout_ms: ${TIMEOUT_MS} }
budgets:
  default: { daily_usd: 5 }
  users:
    tiny: { daily_usd: 0.002 }
routes:
  pair:
    strategy: failover
    deployments:
      - { provider: openai, model: gpt-4o-mini, name: first }
      - { provider: openai, model: gpt-4o, name: second }
`,
    });
    await gw.gateway.stores.database().ready;
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    redis?.disconnect();
    await database?.drop();
  });

  /** The user's one usage record, once the recorder wrote it. */
  async function recordOf(user: string) {
    const db = gw.gateway.stores.database().db;
    for (let i = 0; i < 500; i++) {
      const rows = await db.selectFrom('usage_records').selectAll().where('user_id', '=', user).execute();
      if (rows.length > 1) assert.fail(`${rows.length} records for ${user}`);
      if (rows[0]) return rows[0];
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.fail(`no usage record for ${user}`);
  }

  /** The user's daily budget counter in Redis: µ$ spent + reserved. */
  const counter = async (user: string) =>
    Number((await redis.get(`${prefix}budget:{${user}}:user:d:${day}`)) ?? 0);

  /** The user's budget counter once it settled to `expected` (or what it holds after 3 s). */
  async function spentMicros(user: string, expected: number): Promise<number> {
    let value = -1;
    for (let i = 0; i < 300; i++) {
      value = await counter(user);
      if (value === expected) return value;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return value;
  }

  /** The record and the budget agree: the counter holds exactly the record's cost. */
  async function assertSettled(user: string, expectedMicros: number) {
    const row = await recordOf(user);
    assert.equal(row.estimated, true, 'the cost is an estimate');
    const recorded = Math.round(Number(row.cost_usd) * 1e6);
    assert.equal(recorded, expectedMicros, 'the record’s cost');
    assert.ok(recorded > 0, 'never $0');
    assert.equal(await spentMicros(user, recorded), recorded, 'the budget spent exactly the record’s cost');
    return row;
  }

  test('n: 128 with max_tokens 1000 on a $0.002 budget: 429 budget_exceeded before any provider call', async () => {
    mock.reset();
    const body = { model: 'gpt-4o-mini', n: 128, max_tokens: 1000, messages: userMessage('Name a colour.') };
    const refused = await postJson(chatUrl(), body, { 'x-user-id': 'tiny' });
    assert.equal(refused.status, 429);
    const error = ((await refused.json()) as { error: { code: string; message: string } }).error;
    assert.equal(error.code, 'budget_exceeded');
    assert.match(error.message, /daily budget of \$0\.002/);
    assert.equal(mock.requests.length, 0, 'no provider call');
    // One choice of the same size fits (≈ $0.0006): the `n` made the difference.
    const one = await postJson(chatUrl(), { ...body, n: 1 }, { 'x-user-id': 'tiny' });
    assert.equal(one.status, 200);
    assert.equal(mock.requests.length, 1);
    // …and it was held to the budget in Redis (not let through by a store failure).
    assert.ok((await counter('tiny')) > 0, 'the budget counter moved');
  });

  test('a stream the client abandons after a few chunks: the prompt and the text streamed so far', async () => {
    mock.reset();
    const user = newUser();
    const body = { model: 'gpt-4o-mini', stream: true, messages: userMessage('Tell me a long story') };
    const controller = new AbortController();
    const res = await fetch(chatUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body?.getReader();
    assert.ok(reader);
    let received = '';
    while ((received.match(/"content":"[^"]+"/g) ?? []).length < 3) {
      const { value, done } = await reader.read();
      assert.ok(!done, 'the stream should still be running');
      received += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    const upstream = await mock.waitForRequest(1);
    await upstream.done;
    assert.equal(upstream.closedEarly, true, 'the upstream call was cut too');
    // The record counts what the gateway passed on before it noticed (at least the 3 chunks read),
    // approximated at 4 characters a token: no tokenizer is loaded at a disconnect.
    const row = await recordOf(user);
    assert.equal(row.status, 'incomplete');
    const prompt = approximatePromptTokens(body as ChatRequest);
    assert.equal(row.input_tokens, prompt);
    assert.ok(row.output_tokens >= 3 && row.output_tokens < 40, `${row.output_tokens} output tokens`);
    const expected = microsOf(MINI, { prompt_tokens: prompt, completion_tokens: row.output_tokens });
    await assertSettled(user, expected);
  });

  test('a call that timed out after it was sent (twice): each attempt at its worst case', async () => {
    mock.reset();
    mock.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const user = newUser();
    // 10 tokens fit the timeout easily: the deployment, not the request, is at fault — retried once.
    const body = { model: 'gpt-4o-mini', max_tokens: 10, messages: userMessage('Say hello') };
    const res = await postJson(chatUrl(), body, { 'x-user-id': user });
    assert.equal(res.status, 504);
    assert.equal(mock.requests.length, 2);
    const prompt = approximatePromptTokens(body as ChatRequest);
    const row = await assertSettled(
      user,
      2 * microsOf(MINI, { prompt_tokens: prompt, completion_tokens: 10 }),
    );
    assert.equal(row.status, 'error');
    assert.deepEqual([row.input_tokens, row.output_tokens], [2 * prompt, 20]);
  });

  test('a whole answer the client abandoned while the provider worked: its worst case', async () => {
    mock.reset();
    mock.enqueue({ kind: 'delay', ms: 300 });
    const user = newUser();
    const body = { model: 'gpt-4o-mini', max_tokens: 50, n: 2, messages: userMessage('Say hello') };
    const controller = new AbortController();
    const pending = fetch(chatUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-id': user },
      body: JSON.stringify(body),
      signal: controller.signal,
    }).catch((err: unknown) => err);
    await mock.waitForRequest(1);
    controller.abort();
    assert.ok((await pending) instanceof Error);
    const prompt = approximatePromptTokens(body as ChatRequest);
    // The provider may finish and bill both choices of 50 tokens after the gateway hung up.
    await assertSettled(user, microsOf(MINI, { prompt_tokens: prompt, completion_tokens: 100 }));
  });

  test('a stream that fails after the provider accepted it, then falls back: both deployments billed', async () => {
    mock.reset();
    // `first` (gpt-4o-mini): a 5xx in the stream after its opening chunk, twice; `second` (gpt-4o) serves.
    mock.enqueue({ kind: 'stream-error', afterFrames: 1 }, { kind: 'stream-error', afterFrames: 1 });
    const user = newUser();
    const body = { model: 'pair', stream: true, messages: userMessage('Say hello') };
    const res = await postJson(chatUrl(), body, { 'x-user-id': user });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /data: \[DONE\]/);
    assert.equal(mock.requests.length, 3);
    // The answer: the mock reports 12 prompt and 40 completion tokens (priced at gpt-4o).
    const answer = microsOf(FOUR_O, { prompt_tokens: 12, completion_tokens: 40 });
    // Each failed attempt: its prompt (approximated, 4 characters a token) and the text it streamed (none).
    const prompt = approximatePromptTokens(body as ChatRequest);
    const failed = microsOf(MINI, { prompt_tokens: prompt, completion_tokens: 0 });
    const row = await assertSettled(user, answer + 2 * failed);
    assert.equal(row.model, 'gpt-4o', 'the record names the deployment that served');
    assert.equal(row.status, 'success');
    // The stream's own X-Cost trailer says the same.
    assert.match(text, new RegExp(`: X-Cost: ${((answer + 2 * failed) / 1e6).toFixed(6)}\\n`));
  });

  test('refused by the provider (a 500 status, a 429) or never sent: billed nothing beyond the answer', async () => {
    mock.reset();
    mock.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 429, retryAfter: '0' });
    const user = newUser();
    const body = { model: 'pair', messages: userMessage('Say hello') };
    const res = await postJson(chatUrl(), body, { 'x-user-id': user });
    assert.equal(res.status, 200);
    const row = await recordOf(user);
    assert.equal(row.estimated, false, 'only the reported answer is billed');
    const expected = microsOf(FOUR_O, { prompt_tokens: 12, completion_tokens: 40 });
    assert.equal(Math.round(Number(row.cost_usd) * 1e6), expected);
    assert.equal(await spentMicros(user, expected), expected);
  });
});
