import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createContext, type RequestContext, type RequestEnd } from '../core/context.js';
import { newOutcome, streamResult } from '../core/result.js';
import type { ChatCompletionChunk, ChatRequest } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import { createMetrics } from '../telemetry/metrics.js';
import { applicableBudgets } from './budgets.js';
import { Accountant } from './cost.js';
import { PriceTable } from './pricing.js';

const OK: RequestEnd = { status: 200, error: null, complete: true };

function setup() {
  const metrics = createMetrics({ processMetrics: false });
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
  return { metrics, lines, accountant: new Accountant(new PriceTable(), { metrics, logger }) };
}

function context(model: string, provider = 'openai', stream = false): RequestContext {
  const ctx = createContext({
    requestId: 'req-1',
    log: pino({ level: 'silent' }),
    startedAt: 0,
    endpoint: 'chat',
  });
  const deployment = { id: `${provider}/${model}`, provider, model } as Deployment;
  ctx.upstream.deployment = deployment;
  ctx.route = { name: model, kind: 'prefix', strategy: 'failover', deployments: [deployment] };
  ctx.upstream.attempts = 1;
  const body = { model, messages: [{ role: 'user', content: 'Hello world' }] } as ChatRequest;
  ctx.request = { kind: 'chat', model, stream, body };
  return ctx;
}

/** The outcome of an answer from `ctx`'s deployment, with `usage` reported (or not) and `text`. */
function answered(
  ctx: RequestContext,
  usage: RequestContext['usage'],
  text = '',
  source: 'upstream' | 'cache' = 'upstream',
) {
  const outcome = newOutcome(source, ctx.upstream.deployment, null);
  outcome.usage = usage;
  outcome.output.text = text;
  ctx.outcome = outcome;
}

/** Settles the cost of `ctx` as the pipeline does: the end first, then the cost step. */
async function settle(accountant: Accountant, ctx: RequestContext, end: RequestEnd = OK) {
  ctx.end = end;
  await accountant.settle(ctx);
}

const metric = async (m: ReturnType<typeof createMetrics>, name: string) =>
  (await m.registry.getSingleMetric(name)?.get())?.values ?? [];

describe('Accountant', () => {
  test('a cache hit costs 0 and saves the price of the cached usage', async () => {
    const { accountant, metrics } = setup();
    const ctx = context('gpt-4o');
    ctx.upstream.attempts = 0;
    ctx.cache.status = 'HIT';
    ctx.cache.type = 'exact';
    answered(ctx, { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 }, '', 'cache');
    await settle(accountant, ctx);
    assert.deepEqual([ctx.costUsd, ctx.savedUsd], [0, 0.0035]); // 1000 × 2.5 + 100 × 10 µ$
    assert.equal((await metric(metrics, 'llm_cost_saved_usd_total'))[0]?.value, 0.0035);
    assert.equal((await metric(metrics, 'llm_cost_usd_total')).length, 0);
  });

  test('no upstream usage: counted locally and marked estimated', async () => {
    const { accountant } = setup();
    const ctx = context('gpt-4o');
    answered(ctx, null, 'Hello world');
    await settle(accountant, ctx);
    assert.equal(ctx.usageEstimated, true);
    // "Hello world" = 2 tokens; prompt: 2 + 3 (message) + 3 (priming) = 8
    assert.deepEqual([ctx.usage?.prompt_tokens, ctx.usage?.completion_tokens], [8, 2]);
    assert.equal(ctx.costUsd, 0.00004); // 8 × 2.5 + 2 × 10 = 40 µ$
  });

  test('a stream cut off mid-answer is approximated (4 characters per token), without the tokenizer', async () => {
    const { accountant } = setup();
    const ctx = context('gpt-4o', 'openai', true);
    answered(ctx, null, 'x'.repeat(40));
    await settle(accountant, ctx, { status: 499, error: null, complete: false });
    // prompt: ceil(11 / 4) + 3 + 3 = 9; output: 40 / 4 = 10 → 9 × 2.5 + 10 × 10 = 122.5 → 123 µ$
    assert.deepEqual([ctx.usage?.prompt_tokens, ctx.usage?.completion_tokens], [9, 10]);
    assert.equal(ctx.usageEstimated, true);
    assert.equal(ctx.costUsd, 0.000123);
  });

  test('a cut-off stream whose upstream reported its input (message_start) bills that input, as reported', async () => {
    const { accountant } = setup();
    const ctx = context('claude-3-5-haiku-latest', 'anthropic', true);
    answered(ctx, null, 'x'.repeat(40));
    const outcome = ctx.outcome as NonNullable<RequestContext['outcome']>;
    // Anthropic's message_start: 1,000 input tokens, 800 of them cache reads, 1 output token so far.
    outcome.partialUsage = {
      prompt_tokens: 1000,
      completion_tokens: 1,
      total_tokens: 1001,
      prompt_tokens_details: { cached_tokens: 800 },
    };
    await settle(accountant, ctx, { status: 499, error: null, complete: false });
    // Input as reported (not the 9 the 4-characters rule gives), output estimated from the text (40 / 4).
    assert.deepEqual(
      [
        ctx.usage?.prompt_tokens,
        ctx.usage?.completion_tokens,
        ctx.usage?.prompt_tokens_details?.cached_tokens,
      ],
      [1000, 10, 800],
    );
    assert.equal(ctx.usageEstimated, true, 'the output is still an estimate');
  });

  test('failed attempts the provider may bill are added at their estimate, each at its own price', async () => {
    const { accountant, metrics } = setup();
    const ctx = context('gpt-4o-mini');
    (ctx.request?.body as ChatRequest).max_tokens = 100;
    (ctx.request?.body as ChatRequest).n = 3;
    const timedOut = { id: 'openai/gpt-4o', provider: 'openai', model: 'gpt-4o' } as Deployment;
    const cut = { id: 'openai/gpt-4o-mini', provider: 'openai', model: 'gpt-4o-mini' } as Deployment;
    // gpt-4o timed out with no answer seen: prompt 9 (approximated) + 3 choices × 100 output tokens.
    ctx.upstream.billable.push({ deployment: timedOut, streamed: null, code: 'upstream_timeout' });
    // gpt-4o-mini accepted a stream and failed after 8 characters (2 tokens): prompt 9 + 2.
    ctx.upstream.billable.push({ deployment: cut, streamed: 'Hello wo', code: 'provider_unavailable' });
    answered(ctx, { prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 });
    await settle(accountant, ctx);
    // Each part rounded to the µ$: 9 × 2.5 + 300 × 10 = 3022.5 → 3023; 9 × 0.15 + 2 × 0.6 = 2.55 → 3;
    // the answer: 8 × 0.15 + 4 × 0.6 = 3.6 → 4.
    assert.equal(ctx.costUsd, (3023 + 3 + 4) / 1e6);
    assert.deepEqual([ctx.usage?.prompt_tokens, ctx.usage?.completion_tokens], [26, 306]);
    assert.equal(ctx.usageEstimated, true, 'part of it is an estimate');
    const cost = await metric(metrics, 'llm_cost_usd_total');
    assert.deepEqual(cost.map((v) => [v.labels.model, Math.round(v.value * 1e6)]).sort(), [
      ['gpt-4o', 3023],
      ['gpt-4o-mini', 7],
    ]);
  });

  test('a request that failed after its only attempt was sent is never free', () => {
    const { accountant } = setup();
    const ctx = context('gpt-4o-mini');
    const d = ctx.upstream.deployment as Deployment;
    ctx.upstream.billable.push({ deployment: d, streamed: null, code: 'upstream_timeout' });
    ctx.end = { status: 504, error: null, complete: false };
    // Synchronous: nothing waits for a tokenizer.
    assert.equal(accountant.settle(ctx), undefined);
    // No max_tokens: the accountant's default output limit (4096) is what the provider may have made.
    assert.deepEqual([ctx.usage?.prompt_tokens, ctx.usage?.completion_tokens], [9, 4096]);
    assert.equal(ctx.costUsd, Math.round(9 * 0.15 + 4096 * 0.6) / 1e6);
    assert.equal(ctx.usageEstimated, true);
  });

  test('a failed attempt on an unpriced deployment makes the cost unknown, not zero', async () => {
    const { accountant } = setup();
    const ctx = context('gpt-4o-mini');
    const own = { id: 'vllm/my-model', provider: 'vllm', model: 'my-model' } as Deployment;
    ctx.upstream.billable.push({ deployment: own, streamed: null, code: 'upstream_timeout' });
    answered(ctx, { prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 });
    await settle(accountant, ctx);
    assert.equal(ctx.costUsd, null);
  });

  test('an error before any answer bills nothing (0 for a priced model) and estimates nothing', async () => {
    const { accountant } = setup();
    const ctx = context('gpt-4o');
    await settle(accountant, ctx, { status: 502, error: null, complete: false });
    assert.equal(ctx.usage, null);
    assert.equal(ctx.costUsd, 0);
    assert.equal(ctx.usageEstimated, false);
  });

  test('a stream whose upstream reported usage settles synchronously, without a tokenizer', async () => {
    // The OpenAI adapter always asks for usage, so the usage-only chunk ends every stream: settling it must
    // neither count the captured text nor load an encoding (tens of MB, ~0.1 s of blocked event loop).
    const { accountant } = setup();
    const ctx = context('gpt-4o', 'openai', true);
    const chunk = (delta: object, finish: string | null = null) =>
      ({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt-4o-2024-08-06',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        usage: null,
      }) as unknown as ChatCompletionChunk;
    const usage = { prompt_tokens: 17, completion_tokens: 2, total_tokens: 19 };
    const tail = [
      chunk({ content: ' world' }),
      chunk({}, 'stop'),
      { ...chunk({}), choices: [], usage } as unknown as ChatCompletionChunk,
    ];
    const result = streamResult(
      {
        head: [chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hello' })],
        rest: (async function* () {
          yield* tail;
        })(),
        close() {},
      },
      'upstream',
      ctx.upstream.deployment,
      () => 0,
    );
    while (!(await result.rest.next()).done);
    result.end({ complete: true });
    ctx.outcome = result.outcome;
    assert.equal(ctx.outcome.output.text, 'Hello world');
    ctx.end = OK;
    // The estimate path always returns a promise: `undefined` means nothing was counted locally.
    assert.equal(accountant.settle(ctx), undefined);
    assert.deepEqual(ctx.usage, usage);
    assert.equal(ctx.usageEstimated, false);
  });

  test('reported usage counts tokens by type', async () => {
    const { accountant, metrics } = setup();
    const ctx = context('gpt-4o-mini');
    answered(ctx, { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 });
    await settle(accountant, ctx);
    const tokens = await metric(metrics, 'llm_token_count');
    assert.deepEqual(
      tokens.map((v) => [v.labels.model, v.labels.type, v.value]),
      [
        ['gpt-4o-mini', 'input', 10],
        ['gpt-4o-mini', 'output', 10],
      ],
    );
  });

  test('unknown model: cost null, counted each time, warned once', async () => {
    const { accountant, metrics, lines } = setup();
    for (let i = 0; i < 3; i++) {
      const ctx = context('my-model', 'vllm');
      answered(ctx, { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 });
      await settle(accountant, ctx);
      assert.equal(ctx.costUsd, null);
    }
    assert.equal((await metric(metrics, 'llm_cost_unknown_model_total'))[0]?.value, 3);
    assert.equal(lines.filter((l) => l.includes('cost.unknown_model')).length, 1);
  });

  test('the unknown-model warning names the model to price (the upstream model), not the deployment id', async () => {
    const { accountant, lines } = setup();
    const ctx = context('m1', 'mocka');
    (ctx.upstream.deployment as { id: string }).id = 's1';
    answered(ctx, { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 });
    await settle(accountant, ctx);
    const line = JSON.parse(lines.find((l) => l.includes('cost.unknown_model')) ?? '{}') as Record<
      string,
      string
    >;
    assert.equal(line.model, 'm1');
    assert.equal(line.deployment, 's1');
    assert.match(
      line.msg ?? '',
      /no price for model "m1" \(deployment "s1"\).*add "m1" under pricing\.models/,
    );
  });
});

test('budgets: user budgets from config (or the default), key budgets from the API key', () => {
  const settings = {
    default: { daily_usd: 1 },
    users: { bob: { monthly_usd: 30 } },
    default_max_output_tokens: 100,
    unpriced_reservation_usd: null,
  };
  const now = Date.UTC(2026, 10, 27, 8);
  const ctx = context('gpt-4o');
  ctx.principal = { userId: 'alice', keyId: null, tier: 'free', allowedModels: null };
  assert.deepEqual(
    applicableBudgets(ctx, settings, 'p:', now).map((a) => [
      a.scope,
      a.period,
      a.counter.key,
      a.counter.limitMicros,
    ]),
    [['user', 'daily', 'p:budget:{alice}:user:d:2026-11-27', 1_000_000]],
  );
  ctx.principal = {
    userId: 'bob',
    keyId: 'ci',
    tier: 'pro',
    allowedModels: null,
    budgets: { dailyUsd: 2, monthlyUsd: null },
  };
  assert.deepEqual(
    applicableBudgets(ctx, settings, 'p:', now).map((a) => [a.scope, a.period, a.counter.key]),
    [
      ['user', 'monthly', 'p:budget:{bob}:user:m:2026-11'],
      ['key', 'daily', 'p:budget:{bob}:key:ci:d:2026-11-27'],
    ],
  );
});
