import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  chatContext,
  chunk,
  completion,
  deployment,
  recordingNext,
  samples,
  unitDeps,
} from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext, RequestEnd } from '../core/context.js';
import { ProviderUnavailableError } from '../core/errors.js';
import { completionResult, type OpenedStream, type Result, streamResult } from '../core/result.js';
import type { ChatCompletionChunk, Usage } from '../providers/types.js';
import { createAccountingFeatures } from './feature.js';

const OK: RequestEnd = { status: 200, error: null, complete: true };
const MINI = deployment('openai', 'gpt-4o-mini'); // $0.15 in / $0.60 out per 1M tokens
const USAGE: Usage = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
const COST = '0.000450'; // 1000 × 0.15 + 500 × 0.60 µ$

function setup() {
  const clock = fakeClock();
  // No usage records in these tests (no database, no spool): only the price stage and the cost step.
  const config = loadConfig({ env: { USAGE_ENABLED: 'false' } });
  const deps = unitDeps(clock);
  const features = createAccountingFeatures(
    {
      accounting: config.accounting,
      budgets: config.budgets,
      pricing: config.pricing,
      databaseDataDir: 'memory://',
      redisKeyPrefix: 'test:',
    },
    deps,
  );
  return { clock, deps, ...features };
}

function opened(chunks: ChatCompletionChunk[]): OpenedStream {
  const rest = chunks.slice(1)[Symbol.iterator]();
  return { head: chunks.slice(0, 1), rest: { next: async () => rest.next() }, close: () => undefined };
}

/** A stream answer carrying `usage` in its last chunk, read to the end. */
async function drained(result: Result): Promise<void> {
  if (result.kind !== 'stream') return;
  while (!(await result.rest.next()).done) {}
  result.end({ complete: true });
}

function streamOf(clock: ReturnType<typeof fakeClock>, source: 'upstream' | 'cache'): Result {
  return streamResult(
    opened([chunk(null), chunk('Hel'), chunk('lo', 'stop', { usage: USAGE })]),
    source,
    MINI,
    () => clock.now(),
  );
}

/** A context as the pipeline leaves it for settle: answered by MINI (or the cache), then ended. */
function answered(ctx: RequestContext, result: Result, end: RequestEnd = OK, hit = false): RequestContext {
  ctx.route = { name: 'gpt-4o-mini', kind: 'prefix', strategy: 'failover', deployments: [MINI] };
  if (hit) {
    ctx.cache.status = 'HIT';
    ctx.cache.type = 'exact';
  } else {
    ctx.upstream.attempts = 1;
    ctx.upstream.deployment = MINI;
  }
  ctx.outcome = result.outcome;
  ctx.end = end;
  return ctx;
}

describe('accounting: price stage', () => {
  test('a stream answered by the cache is marked free before its headers go out', async () => {
    const { clock, accounting } = setup();
    const ctx = chatContext(clock, { stream: true });
    const { next, calls } = recordingNext((c) => {
      c.cache.status = 'HIT'; // what the cache stage (after price) does on a hit
      return streamOf(clock, 'cache');
    });
    const result = await accounting.price.run(ctx, next);
    assert.equal(calls.length, 1);
    assert.equal(result.kind, 'stream');
    assert.equal(ctx.responseHeaders['x-cost'], '0.000000');
  });

  test('an upstream stream has no cost yet when its headers go out', async () => {
    const { clock, accounting } = setup();
    const ctx = chatContext(clock, { stream: true });
    await accounting.price.run(
      ctx,
      recordingNext((c) => {
        c.cache.status = 'MISS';
        return streamOf(clock, 'upstream');
      }).next,
    );
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
  });

  test('a JSON cache hit is left to the cost step (its header is written after settle)', async () => {
    const { clock, accounting } = setup();
    const ctx = chatContext(clock);
    await accounting.price.run(
      ctx,
      recordingNext((c) => {
        c.cache.status = 'HIT';
        return completionResult(completion('hi', USAGE), 'cache', MINI);
      }).next,
    );
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
  });
});

describe('accounting: cost settle step', () => {
  test('JSON: usage and cost from the answer; X-Cost header; tokens and cost counted', async () => {
    const { clock, accounting, deps } = setup();
    const ctx = answered(chatContext(clock), completionResult(completion('hi', USAGE), 'upstream', MINI));
    await accounting.cost.settle(ctx);
    assert.deepEqual(ctx.usage, USAGE);
    assert.equal(ctx.usageEstimated, false);
    assert.equal(ctx.costUsd, 0.00045);
    assert.equal(ctx.responseHeaders['x-cost'], COST);
    assert.deepEqual(ctx.trailers, []);
    const cost = await samples(deps.metrics, 'llm_cost_usd_total');
    assert.deepEqual(
      cost.map((s) => [s.labels.model, s.value]),
      [['gpt-4o-mini', 0.00045]],
    );
  });

  test('stream: the cost goes into a trailer line, not a header (the headers are gone)', async () => {
    const { clock, accounting } = setup();
    const result = streamOf(clock, 'upstream');
    await drained(result);
    const ctx = answered(chatContext(clock, { stream: true }), result);
    await accounting.cost.settle(ctx);
    assert.deepEqual(ctx.trailers, [`X-Cost: ${COST}`]);
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
  });

  test('a cached stream: free, saved amount recorded, no trailer (its header said 0 already)', async () => {
    const { clock, accounting } = setup();
    const result = streamOf(clock, 'cache');
    await drained(result);
    const ctx = answered(chatContext(clock, { stream: true }), result, OK, true);
    await accounting.cost.settle(ctx);
    assert.equal(ctx.costUsd, 0);
    assert.equal(ctx.savedUsd, 0.00045);
    assert.deepEqual(ctx.trailers, []);
  });

  test('a JSON cache hit: X-Cost 0.000000', async () => {
    const { clock, accounting } = setup();
    const ctx = answered(
      chatContext(clock),
      completionResult(completion('hi', USAGE), 'cache', MINI),
      OK,
      true,
    );
    await accounting.cost.settle(ctx);
    assert.equal(ctx.responseHeaders['x-cost'], '0.000000');
  });

  test('an error: no X-Cost header and no trailer', async () => {
    const { clock, accounting } = setup();
    const ctx = chatContext(clock);
    ctx.route = { name: 'gpt-4o-mini', kind: 'prefix', strategy: 'failover', deployments: [MINI] };
    ctx.upstream.attempts = 1;
    ctx.upstream.deployment = MINI;
    const error = new ProviderUnavailableError('down', 'openai');
    ctx.end = { status: error.status, error, complete: false };
    await accounting.cost.settle(ctx);
    assert.equal(ctx.usage, null);
    assert.equal(ctx.costUsd, 0, 'nothing was billed');
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
    assert.deepEqual(ctx.trailers, []);
  });

  test('a stream cut off mid-way: usage approximated for what was sent, but no trailer', async () => {
    const { clock, accounting } = setup();
    const result = streamResult(
      opened([chunk(null), chunk('Hello there'), chunk('never sent')]),
      'upstream',
      MINI,
      () => clock.now(),
    );
    if (result.kind !== 'stream') throw new Error('stream expected');
    await result.rest.next();
    const error = new ProviderUnavailableError('cut', 'openai');
    result.end({ complete: false, error });
    const ctx = answered(chatContext(clock, { stream: true }), result, {
      status: 502,
      error,
      complete: false,
    });
    await accounting.cost.settle(ctx);
    assert.equal(ctx.usageEstimated, true);
    assert.ok((ctx.usage?.completion_tokens ?? 0) > 0);
    assert.ok((ctx.costUsd ?? 0) > 0);
    assert.deepEqual(ctx.trailers, []);
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
  });

  test('an unpriced model: cost unknown (null), no X-Cost, counted as unknown', async () => {
    const { clock, accounting, deps } = setup();
    const local = deployment('vllm', 'my-local-model');
    const ctx = chatContext(clock, { model: 'vllm/my-local-model' });
    ctx.upstream.attempts = 1;
    ctx.upstream.deployment = local;
    ctx.outcome = completionResult(completion('hi', USAGE, 'my-local-model'), 'upstream', local).outcome;
    ctx.end = OK;
    await accounting.cost.settle(ctx);
    assert.equal(ctx.costUsd, null);
    assert.equal(ctx.responseHeaders['x-cost'], undefined);
    assert.equal((await samples(deps.metrics, 'llm_cost_unknown_model_total'))[0]?.value, 1);
  });
});
