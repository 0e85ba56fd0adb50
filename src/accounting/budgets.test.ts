import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock, TEST_EPOCH_MS } from '../../test/helpers/fake-clock.js';
import {
  advance,
  capturedLogger,
  chatContext,
  completion,
  deployment,
  recordingNext,
  samples,
  silentLog,
} from '../../test/helpers/stage.js';
import type { Principal } from '../auth/principal.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import { GatewayRateLimitError } from '../core/errors.js';
import { completionResult } from '../core/result.js';
import type { ChatRequest } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import { createMetrics } from '../telemetry/metrics.js';
import type { BudgetSeeder, SeedQuery } from './budget-seed.js';
import { type BudgetStore, MemoryBudgetStore } from './budget-store.js';
import { createBudgetStages, reservedPromptTokens } from './budgets.js';
import { Accountant } from './cost.js';
import { PriceTable } from './pricing.js';

const PREFIX = 'test:';
const DAY = '2024-01-15'; // TEST_EPOCH_MS is noon UTC of that day
const KEY_COUNTER = `${PREFIX}budget:{alice}:key:k1:d:${DAY}`;
const MAX_TOKENS = 1000;
const answer = () => completionResult(completion('hi'), 'upstream', null);

/** Alice's key may spend $0.001 a day. */
const ALICE: Principal = {
  userId: 'alice',
  keyId: 'k1',
  tier: 'free',
  allowedModels: null,
  budgets: { dailyUsd: 0.001, monthlyUsd: null },
};

function setup(store: BudgetStore = new MemoryBudgetStore(), logger = silentLog, seeder?: BudgetSeeder) {
  const clock = fakeClock();
  const metrics = createMetrics({ processMetrics: false });
  const config = loadConfig({ env: {} });
  const stages = createBudgetStages({
    settings: config.budgets,
    store,
    accountant: new Accountant(new PriceTable(), { metrics, logger }),
    metrics,
    logger,
    redis: null,
    keyPrefix: PREFIX,
    now: () => clock.wallNow(),
    seeder: seeder ?? null,
  });
  return { clock, metrics, store, ...stages };
}

/** A request for gpt-4o-mini ($0.15 in / $0.60 out per 1M tokens) of at most MAX_TOKENS out. */
function request(
  clock: ReturnType<typeof fakeClock>,
  who: Principal | null = ALICE,
  route: Deployment[] = [deployment('openai', 'gpt-4o-mini')],
): RequestContext {
  const ctx = chatContext(clock, { model: 'cheap', max_tokens: MAX_TOKENS });
  ctx.principal = who;
  ctx.route = { name: 'cheap', kind: 'alias', strategy: 'failover', deployments: route };
  return ctx;
}

/** What admit reserves for `request()`: its prompt bound at the input price plus MAX_TOKENS at the output price. */
function reservedMicros(ctx: RequestContext): number {
  const prompt = reservedPromptTokens(ctx.request?.body as ChatRequest);
  return Math.floor(prompt * 0.15 + MAX_TOKENS * 0.6 + 0.5) + 1;
}

/** Lets the settle step's un-awaited adjustment land. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('budgets: admit', () => {
  test('reserves the worst case on the key’s daily counter, then next runs', async () => {
    const { clock, admit, store } = setup();
    const ctx = request(clock);
    const { next, calls } = recordingNext(answer);
    await admit.run(ctx, next);
    assert.equal(calls.length, 1);
    const micros = reservedMicros(ctx);
    assert.ok(micros > 600 && micros < 700, `reserved ${micros}`);
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), micros);
  });

  test('a reservation that does not fit → 429 budget_exceeded until the day ends; next not called', async () => {
    const { clock, admit, store, metrics } = setup();
    const { next, calls } = recordingNext(answer);
    const first = request(clock);
    await admit.run(first, next);
    const refused = request(clock);
    await assert.rejects(admit.run(refused, next), (err: unknown) => {
      assert.ok(err instanceof GatewayRateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'budget_exceeded');
      assert.equal(err.type, 'budget_exceeded');
      assert.match(err.message, /daily budget of \$0\.001 for API key "k1"/);
      // The day is the fake clock's, not today: it resets at the next UTC midnight after TEST_EPOCH_MS.
      assert.match(err.message, /resets at 2024-01-16T00:00:00\.000Z/);
      const untilMidnight = Date.UTC(2024, 0, 16) - TEST_EPOCH_MS;
      assert.ok(
        err.retryAfterMs !== undefined &&
          err.retryAfterMs <= untilMidnight &&
          err.retryAfterMs > untilMidnight - 10_000,
        `retryAfterMs = ${err.retryAfterMs}`,
      );
      return true;
    });
    assert.equal(calls.length, 1);
    // All or nothing: the refused request reserved nothing.
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), reservedMicros(first));
    const exceeded = await samples(metrics, 'llm_budget_exceeded_total');
    assert.deepEqual(
      exceeded.map((s) => [s.labels.scope, s.labels.period, s.value]),
      [['key', 'daily', 1]],
    );
  });

  test('the next day (by the injected clock) starts a new counter', async () => {
    const { clock, admit } = setup();
    const { next, calls } = recordingNext(answer);
    await admit.run(request(clock), next);
    await assert.rejects(admit.run(request(clock), next), GatewayRateLimitError);
    advance(clock, 12 * 3_600_000);
    await admit.run(request(clock), next);
    assert.equal(calls.length, 2);
  });

  test('no budget for the caller (no key budget, no user budget): nothing reserved', async () => {
    const { clock, admit, store } = setup();
    const bob: Principal = { userId: 'bob', keyId: null, tier: 'free', allowedModels: null };
    const { next, calls } = recordingNext(answer);
    for (let i = 0; i < 5; i++) await admit.run(request(clock, bob), next);
    assert.equal(calls.length, 5);
    assert.equal(await store.read(`${PREFIX}budget:{bob}:user:d:${DAY}`, clock.wallNow()), 0);
  });

  test('an unpriced deployment on the route (and no unpriced_reservation_usd): not held to the budget', async () => {
    const { clock, admit, store } = setup();
    const route = [deployment('openai', 'gpt-4o-mini'), deployment('vllm', 'my-local-model')];
    const { next, calls } = recordingNext(answer);
    for (let i = 0; i < 3; i++) await admit.run(request(clock, ALICE, route), next);
    assert.equal(calls.length, 3);
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 0);
  });

  test('a route mixing prices: input and output are each reserved at their highest price on the route', async () => {
    const { clock, admit, store } = setup();
    // mixtral-8x7b-32768 (groq) $0.24 in / $0.24 out is the dearer by input + output; gpt-5-nano $0.05 / $0.40
    // bills more for the same answer when the output is long. The reservation must cover either.
    const route = [deployment('groq', 'mixtral-8x7b-32768'), deployment('openai', 'gpt-5-nano')];
    const ctx = request(clock, { ...ALICE, budgets: { dailyUsd: 1, monthlyUsd: null } }, route);
    await admit.run(ctx, recordingNext(answer).next);
    const prompt = reservedPromptTokens(ctx.request?.body as ChatRequest);
    const micros = Math.floor(prompt * 0.24 + MAX_TOKENS * 0.4 + 0.5) + 1;
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), micros);
  });

  test('every choice is reserved: n × the output limit (the prompt once)', async () => {
    const { clock, admit, store } = setup();
    const ctx = request(clock);
    (ctx.request?.body as ChatRequest).max_tokens = 100;
    (ctx.request?.body as ChatRequest).n = 4;
    await admit.run(ctx, recordingNext(answer).next);
    const prompt = reservedPromptTokens(ctx.request?.body as ChatRequest);
    const micros = Math.floor(prompt * 0.15 + 4 * 100 * 0.6 + 0.5) + 1;
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), micros);
  });

  test('n: 128 with max_tokens 1000 does not fit $0.001: refused before the call', async () => {
    const { clock, admit, store } = setup();
    const ctx = request(clock);
    (ctx.request?.body as ChatRequest).n = 128;
    const { next, calls } = recordingNext(answer);
    await assert.rejects(admit.run(ctx, next), (err: unknown) => {
      assert.ok(err instanceof GatewayRateLimitError);
      assert.equal(err.code, 'budget_exceeded');
      assert.match(err.message, /up to \$0\.0768/);
      return true;
    });
    assert.equal(calls.length, 0);
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 0);
  });

  test('no output limit sent: budgets.default_max_output_tokens is reserved (never 0)', async () => {
    const { clock, admit, store } = setup();
    const ctx = chatContext(clock, { model: 'cheap' });
    ctx.principal = { ...ALICE, budgets: { dailyUsd: 1, monthlyUsd: null } };
    ctx.route = {
      name: 'cheap',
      kind: 'alias',
      strategy: 'failover',
      deployments: [deployment('openai', 'gpt-4o-mini')],
    };
    await admit.run(ctx, recordingNext(answer).next);
    const prompt = reservedPromptTokens(ctx.request?.body as ChatRequest);
    const micros = Math.floor(prompt * 0.15 + 4096 * 0.6 + 0.5) + 1;
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), micros);
  });

  test('a max_tokens past 2^32 is reserved as huge, not wrapped to 0', async () => {
    const { clock, admit } = setup();
    const ctx = request(clock);
    (ctx.request?.body as ChatRequest).max_tokens = 2 ** 32;
    await assert.rejects(admit.run(ctx, recordingNext(answer).next), GatewayRateLimitError);
  });

  test('the store failing lets the request through (fail open) and logs it', async () => {
    const broken: BudgetStore = {
      reserve: () => Promise.reject(new Error('store down')),
      adjust: () => Promise.resolve(),
      read: () => Promise.resolve(0),
      seed: () => Promise.resolve(),
    };
    const { logger, lines } = capturedLogger('warn');
    const { clock, admit } = setup(broken, logger);
    const { next, calls } = recordingNext(answer);
    await admit.run(request(clock), next);
    assert.equal(calls.length, 1);
    assert.equal(lines[0]?.event, 'budget.error');
  });
});

describe('budgets: settle', () => {
  test('adjusts the reservation to the real cost, making room for the next request', async () => {
    const { clock, admit, settle, store } = setup();
    const { next, calls } = recordingNext(answer);
    const first = request(clock);
    await admit.run(first, next);
    first.costUsd = 0.0002;
    await settle.settle(first);
    await tick();
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 200);
    // 200 + one reservation fits under 1000 µ$ now.
    const second = request(clock);
    await admit.run(second, next);
    assert.equal(calls.length, 2);
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 200 + reservedMicros(second));
  });

  test('nothing billed (failed before any answer, unpriced): the reservation is released', async () => {
    const { clock, admit, settle, store } = setup();
    const ctx = request(clock);
    await admit.run(ctx, recordingNext(answer).next);
    ctx.costUsd = null;
    ctx.usage = null;
    await settle.settle(ctx);
    await tick();
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 0);
  });

  test('billed but unpriced: the reservation is kept as the cost', async () => {
    const { clock, admit, settle, store } = setup();
    const ctx = request(clock);
    await admit.run(ctx, recordingNext(answer).next);
    ctx.costUsd = null;
    ctx.usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
    await settle.settle(ctx);
    await tick();
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), reservedMicros(ctx));
  });

  test('a request that reserved nothing settles nothing', async () => {
    const { clock, admit, settle, store } = setup();
    const { next } = recordingNext(answer);
    await admit.run(request(clock), next);
    const refused = request(clock);
    await assert.rejects(admit.run(refused, next), GatewayRateLimitError);
    refused.costUsd = 0;
    await settle.settle(refused);
    await tick();
    // The first request's reservation is untouched by the refused one's settlement.
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), reservedMicros(refused));
  });
});

describe('budgets: seeding lost counters (decision 0145)', () => {
  test('a missing counter is seeded once from the seeder (single-flight), then reserved as usual', async () => {
    const asked: SeedQuery[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const seeder: BudgetSeeder = async (q) => {
      asked.push(q);
      await gate;
      return 999_000; // $0.000999 of the $0.001 spent before the counter was lost
    };
    const { clock, admit, store } = setup(new MemoryBudgetStore(), silentLog, seeder);
    const first = admit.run(request(clock), recordingNext(answer).next);
    const second = admit.run(request(clock), recordingNext(answer).next);
    await tick();
    release();
    // The seeded spend leaves too little for either request.
    await assert.rejects(first, GatewayRateLimitError);
    await assert.rejects(second, GatewayRateLimitError);
    assert.deepEqual(asked, [{ level: 'key', id: 'k1', from: DAY, to: DAY, scope: {} }], 'one query');
    assert.equal(await store.read(KEY_COUNTER, clock.wallNow()), 999_000);
    await assert.rejects(admit.run(request(clock), recordingNext(answer).next), GatewayRateLimitError);
    assert.equal(asked.length, 1, 'no query once the counter exists');
  });

  test('a failing seeder lets the counter start from zero (logged), never failing the request', async () => {
    const { logger, lines } = capturedLogger('warn');
    const { clock, admit } = setup(new MemoryBudgetStore(), logger, () =>
      Promise.reject(new Error('db down')),
    );
    const { next, calls } = recordingNext(answer);
    await admit.run(request(clock), next);
    assert.equal(calls.length, 1);
    assert.ok(lines.some((l) => l.event === 'budget.seed_failed'));
  });
});
