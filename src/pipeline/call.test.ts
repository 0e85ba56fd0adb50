import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  capturedLogger,
  chatContext,
  chunk,
  completion,
  deployment,
  samples,
  unitDeps,
  usageChunk,
} from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import {
  ClientClosedError,
  InvalidRequestError,
  ProviderUnavailableError,
  RateLimitError,
} from '../core/errors.js';
import { StreamLiveness } from '../core/liveness.js';
import type { JsonResult, StreamResult } from '../core/result.js';
import type {
  CallOptions,
  ChatCompletion,
  ChatCompletionChunk,
  ChunkStream,
  EmbeddingResponse,
  ProviderAdapter,
} from '../providers/types.js';
import type { RetryPolicy } from '../resilience/retry.js';
import type { Deployment } from '../routing/resolver.js';
import { Router, RouteUnavailableError } from '../routing/router.js';
import { createCallStage } from './call.js';

const RETRY: RetryPolicy = { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 30_000 };
/** fakeClock's random() is 0.5: the first backoff is half its ceiling of 500 ms. */
const FIRST_BACKOFF_MS = 250;

type Step<T> = T | Error;

/**
 * TEST DOUBLE of a provider: answers each call with the next scripted step (an answer, or an error it
 * throws), repeating the last one. Records the call options it got.
 */
function scripted(
  name: string,
  chat: Array<Step<ChatCompletion>>,
  streams: Array<Step<ChatCompletionChunk[] | ChunkStream>> = [],
) {
  const calls: CallOptions[] = [];
  const pick = <T>(steps: Array<Step<T>>): T => {
    const step = steps[Math.min(calls.length - 1, steps.length - 1)];
    if (step === undefined) throw new Error(`${name}: no scripted answer`);
    if (step instanceof Error) throw step;
    return step;
  };
  const adapter: ProviderAdapter = {
    name,
    type: 'openai',
    async chat(_req, call) {
      calls.push(call);
      return pick(chat);
    },
    async chatStream(_req, call) {
      calls.push(call);
      const s = pick(streams);
      return Array.isArray(s) ? fromChunks(s) : s;
    },
    async embed(req, call): Promise<EmbeddingResponse> {
      calls.push(call);
      return {
        object: 'list',
        model: call.model,
        data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
        usage: { prompt_tokens: String(req.input).length, total_tokens: String(req.input).length },
      };
    },
  };
  return { adapter, calls };
}

/** An adapter that must never be called (its deployment's breaker is open). */
function unusedAdapterFor(name: string): ProviderAdapter {
  const fail = (): never => {
    throw new Error(`${name} must not be called`);
  };
  return {
    name,
    type: 'openai',
    chat: async () => fail(),
    chatStream: async () => fail(),
    embed: async () => fail(),
  };
}

async function* fromChunks(chunks: ChatCompletionChunk[]): ChunkStream {
  for (const c of chunks) yield c;
}

/** Yields `chunks`, then fails as an upstream that dropped the connection. */
async function* failingAfter(chunks: ChatCompletionChunk[]): ChunkStream {
  for (const c of chunks) yield c;
  throw new ProviderUnavailableError('openai closed the stream before the answer was complete.', 'openai');
}

const down = () => new ProviderUnavailableError('503 from upstream', 'openai', { upstreamStatus: 503 });

function setup(options: { router?: boolean } = {}) {
  const clock = fakeClock();
  const { logger, lines } = capturedLogger('info');
  const deps = unitDeps(clock, logger);
  const router = options.router
    ? new Router({ routing: loadConfig({ env: {} }).routing, clock, metrics: deps.metrics })
    : undefined;
  const call = createCallStage({
    retry: RETRY,
    clock,
    attemptTimeoutMs: 60_000,
    totalTimeoutMs: 180_000,
    router,
  });
  return { clock, call, logger, lines, deps, router };
}

function routed(ctx: RequestContext, deployments: Deployment[], plan: Deployment[] | null = null) {
  ctx.route = { name: 'pair', kind: 'alias', strategy: 'failover', deployments };
  ctx.plan = plan;
  return ctx;
}

describe('call stage: whole answers', () => {
  test('a retriable error, then success: one retry after the fake clock’s backoff, no real wait', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [down(), completion('hi')]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', {
      adapter: scripted('anthropic', []).adapter,
    });
    const ctx = routed(chatContext(clock), [A, B]);
    const started = performance.now();
    const result = (await call(ctx)) as JsonResult;
    assert.ok(performance.now() - started < FIRST_BACKOFF_MS, 'the backoff was not slept for real');
    assert.equal(result.kind, 'json');
    assert.equal((result.body as ChatCompletion).choices[0]?.message.content, 'hi');
    assert.equal(result.outcome.deployment, A);
    assert.equal(result.outcome.source, 'upstream');
    assert.deepEqual(clock.waits, [FIRST_BACKOFF_MS]);
    assert.equal(ctx.timings.wait, FIRST_BACKOFF_MS);
    assert.deepEqual(ctx.upstream, {
      deployment: A,
      attempts: 2,
      fallbackCount: 0,
      billable: [],
      heard: null,
    });
    // Each attempt asked the deployment's own model, with the request id, on a live signal.
    assert.deepEqual(
      a.calls.map((c) => [c.model, c.requestId]),
      [
        ['gpt-4o-mini', 'req-test'],
        ['gpt-4o-mini', 'req-test'],
      ],
    );
  });

  test('a deployment failing every attempt: fallback to the next, counted once', async () => {
    const { clock, call, logger, lines, deps } = setup({ router: true });
    const a = scripted('openai', [down()]);
    const b = scripted('anthropic', [completion('from b', undefined, 'claude-3-5-haiku-20241022')]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', { adapter: b.adapter });
    const ctx = routed(chatContext(clock), [A, B]);
    ctx.log = logger;
    const result = (await call(ctx)) as JsonResult;
    assert.equal(a.calls.length, RETRY.maxAttempts);
    assert.equal(b.calls.length, 1);
    assert.equal(result.outcome.deployment, B);
    assert.equal(result.outcome.servedModel, 'claude-3-5-haiku-20241022');
    assert.deepEqual(ctx.upstream, {
      deployment: B,
      attempts: 3,
      fallbackCount: 1,
      billable: [],
      heard: null,
    });
    assert.deepEqual(clock.waits, [FIRST_BACKOFF_MS], 'no backoff before moving to the next deployment');
    const fallbacks = await samples(deps.metrics, 'llm_fallbacks_total');
    assert.deepEqual(
      fallbacks.map((s) => [s.labels.from, s.labels.to, s.value]),
      [[A.id, B.id, 1]],
    );
    assert.deepEqual(
      lines.map((l) => [l.event, l.deployment ?? l.from, l.to ?? null, l.reason ?? l.error_code]),
      [
        ['upstream.retry', A.id, null, 'provider_unavailable'],
        ['route.fallback', A.id, B.id, 'provider_unavailable'],
      ],
    );
  });

  test('every move counts, also onto a deployment skipped for its open breaker', async () => {
    const { clock, call, deps, router } = setup({ router: true });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: scripted('openai', [down()]).adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', { adapter: unusedAdapterFor('anthropic') });
    const c = scripted('groq', [completion('from c')]);
    const C = deployment('groq', 'llama', { adapter: c.adapter });
    const breakerB = router?.breaker(B);
    while (breakerB?.tryAcquire()) breakerB.failure();
    // A fails, B is skipped, C serves: two moves (A → B, B → C).
    const ctx = routed(chatContext(clock), [A, B, C]);
    const result = (await call(ctx)) as JsonResult;
    assert.equal(result.outcome.deployment, C);
    assert.equal(ctx.upstream.fallbackCount, 2);
    // A fails again, B and C are skipped (C opened by hand): the 502 still says the request moved twice.
    const breakerC = router?.breaker(C);
    while (breakerC?.tryAcquire()) breakerC.failure();
    const failed = routed(chatContext(clock), [A, B, C]);
    await assert.rejects(call(failed), RouteUnavailableError);
    assert.equal(failed.upstream.fallbackCount, 2);
    const fallbacks = await samples(deps.metrics, 'llm_fallbacks_total');
    assert.deepEqual(
      fallbacks.map((s) => [s.labels.from, s.labels.to, s.value]),
      [
        [A.id, B.id, 2],
        [B.id, C.id, 2],
      ],
    );
  });

  test('a half-open breaker with its probe in flight: the 502 still carries a retry hint', async () => {
    const { clock, call, router } = setup({ router: true });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: unusedAdapterFor('openai') });
    const breaker = router?.breaker(A);
    while (breaker?.tryAcquire()) breaker.failure();
    clock.advance(breaker?.settings.cooldownMs ?? 0);
    assert.equal(breaker?.tryAcquire(), true, 'the probe goes through');
    await assert.rejects(call(routed(chatContext(clock), [A])), (err: unknown) => {
      assert.ok(err instanceof RouteUnavailableError);
      assert.equal(err.status, 502);
      assert.equal(err.retryAfterMs, 1);
      return true;
    });
  });

  test('the request’s plan decides the order, not the route', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [completion('a')]);
    const b = scripted('anthropic', [completion('b')]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', { adapter: b.adapter });
    const ctx = routed(chatContext(clock), [A, B], [B, A]);
    const result = (await call(ctx)) as JsonResult;
    assert.equal(result.outcome.deployment, B);
    assert.equal(a.calls.length, 0);
  });

  test('a non-retriable error (the provider rejected the request) is final: no retry, no fallback', async () => {
    const { clock, call } = setup();
    const rejected = new InvalidRequestError('bad tool schema', 'openai', { upstreamStatus: 400 });
    const a = scripted('openai', [rejected]);
    const b = scripted('anthropic', [completion('b')]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', { adapter: b.adapter });
    const ctx = routed(chatContext(clock), [A, B]);
    await assert.rejects(call(ctx), (err: unknown) => err === rejected);
    assert.equal(a.calls.length, 1);
    assert.equal(b.calls.length, 0);
    assert.deepEqual(clock.waits, []);
    assert.deepEqual(ctx.upstream, {
      deployment: A,
      attempts: 1,
      fallbackCount: 0,
      billable: [],
      heard: null,
    });
  });

  test('every deployment failing: one error naming each of them', async () => {
    const { clock, call } = setup();
    const A = deployment('openai', 'gpt-4o-mini', { adapter: scripted('openai', [down()]).adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', {
      adapter: scripted('anthropic', [down()]).adapter,
    });
    const ctx = routed(chatContext(clock), [A, B]);
    await assert.rejects(call(ctx), (err: unknown) => {
      assert.ok(err instanceof RouteUnavailableError);
      assert.equal(err.status, 502);
      assert.deepEqual(
        err.tried.map((t) => [t.id, t.outcome]),
        [
          [A.id, 'provider_unavailable'],
          [B.id, 'provider_unavailable'],
        ],
      );
      return true;
    });
    assert.deepEqual(ctx.upstream, {
      deployment: B,
      attempts: 4,
      fallbackCount: 1,
      billable: [],
      heard: null,
    });
  });

  test('a provider 429 with Retry-After: the retry waits that long (on the fake clock)', async () => {
    const { clock, call } = setup();
    const limited = new RateLimitError('slow down', 'openai', { retryAfterMs: 1_200 });
    const a = scripted('openai', [limited, completion('hi')]);
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: a.adapter })]);
    await call(ctx);
    assert.deepEqual(clock.waits, [1_200]);
  });

  test('a provider 429 without Retry-After that persists: the client still gets a retry hint', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [new RateLimitError('slow down', 'openai')]);
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: a.adapter })]);
    await assert.rejects(call(ctx), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.retryAfterMs, 1_000); // the backoff ceiling of the last retry: 500 · 2^(2-1)
      return true;
    });
  });

  test('a client gone before the call: nothing is sent upstream', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [completion('hi')]);
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: a.adapter })]);
    ctx.abort.abort(new ClientClosedError());
    await assert.rejects(call(ctx), ClientClosedError);
    assert.equal(a.calls.length, 0);
  });

  test('embeddings: the adapter’s embed, usage without completion tokens', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', []);
    const ctx = routed(chatContext(clock, {}, { endpoint: 'embeddings' }), [
      deployment('openai', 'text-embedding-3-small', { adapter: a.adapter }),
    ]);
    ctx.request = {
      kind: 'embeddings',
      model: 'text-embedding-3-small',
      stream: false,
      body: { model: 'text-embedding-3-small', input: 'hello' },
    };
    const result = (await call(ctx)) as JsonResult;
    assert.deepEqual(result.outcome.usage, { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 });
    assert.equal(a.calls[0]?.model, 'text-embedding-3-small');
  });
});

describe('call stage: streams', () => {
  const USAGE = { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 };

  async function rest(result: StreamResult): Promise<ChatCompletionChunk[]> {
    const out: ChatCompletionChunk[] = [];
    for (let n = await result.rest.next(); !n.done; n = await result.rest.next()) out.push(n.value);
    return out;
  }

  test('opened at the first chunk that carries something: head = role chunk + first text; rest follows', async () => {
    const { clock, call } = setup();
    const chunks = [chunk(null), chunk('Hel'), chunk('lo', 'stop'), usageChunk(USAGE)];
    const a = scripted('openai', [], [chunks]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const ctx = routed(chatContext(clock, { stream: true }), [A]);
    const result = (await call(ctx)) as StreamResult;
    assert.equal(result.kind, 'stream');
    assert.deepEqual(result.head, chunks.slice(0, 2));
    assert.deepEqual(await rest(result), chunks.slice(2));
    // Time to first token: stamped on the stage's clock once the first text went out.
    const firstToken = result.outcome.firstTokenAt;
    assert.ok(
      firstToken !== null && firstToken >= ctx.startedAt && firstToken <= clock.now(),
      `${firstToken}`,
    );
    result.end({ complete: true });
    assert.deepEqual(await result.done, { complete: true, error: null });
    assert.equal(result.outcome.output.text, 'Hello');
    assert.equal(result.outcome.finishReason, 'stop');
    assert.deepEqual(result.outcome.usage, USAGE);
    assert.equal(result.outcome.deployment, A);
    // The serving attempt's liveness, which the writer's idle timer asks (decision 0225).
    assert.ok(ctx.upstream.heard instanceof StreamLiveness);
    assert.deepEqual(ctx.upstream, {
      deployment: A,
      attempts: 1,
      fallbackCount: 0,
      billable: [],
      heard: ctx.upstream.heard,
    });
  });

  test('a stream failing before its first text is retried (nothing was sent yet)', async () => {
    const { clock, call } = setup();
    const good = [chunk(null), chunk('ok', 'stop')];
    const a = scripted('openai', [], [failingAfter([chunk(null)]), good]);
    const ctx = routed(chatContext(clock, { stream: true }), [
      deployment('openai', 'gpt-4o-mini', { adapter: a.adapter }),
    ]);
    const result = (await call(ctx)) as StreamResult;
    assert.deepEqual(result.head, good);
    assert.equal(ctx.upstream.attempts, 2);
    assert.deepEqual(
      ctx.upstream.billable.map((b) => [b.streamed, b.code]),
      [['', 'provider_unavailable']],
      'the failed attempt had been accepted: billable',
    );
    assert.deepEqual(clock.waits, [FIRST_BACKOFF_MS]);
    result.end({ complete: true });
  });

  test('a stream failing after its first text is not retried: the error comes out of rest', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [], [failingAfter([chunk(null), chunk('Hel')])]);
    const ctx = routed(chatContext(clock, { stream: true }), [
      deployment('openai', 'gpt-4o-mini', { adapter: a.adapter }),
    ]);
    const result = (await call(ctx)) as StreamResult;
    assert.equal(result.head.length, 2);
    await assert.rejects(result.rest.next(), ProviderUnavailableError);
    result.end({ complete: false, error: down() });
    const end = await result.done;
    assert.equal(end.complete, false);
    assert.equal(end.error?.code, 'provider_unavailable');
    assert.equal(a.calls.length, 1);
    assert.equal(ctx.upstream.attempts, 1);
  });

  test('a stream that ends before any chunk is a failure, tried on the next deployment', async () => {
    const { clock, call } = setup();
    const a = scripted('openai', [], [[]]);
    const b = scripted('anthropic', [], [[chunk(null), chunk('b', 'stop')]]);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: a.adapter });
    const B = deployment('anthropic', 'claude-3-5-haiku-latest', { adapter: b.adapter });
    const ctx = routed(chatContext(clock, { stream: true }), [A, B]);
    const result = (await call(ctx)) as StreamResult;
    assert.equal(result.outcome.deployment, B);
    // A accepted both attempts (2xx) and sent nothing: each may be billed for its prompt.
    assert.deepEqual(ctx.upstream, {
      deployment: B,
      attempts: 3,
      fallbackCount: 1,
      billable: [
        { deployment: A, streamed: '', code: 'provider_unavailable' },
        { deployment: A, streamed: '', code: 'provider_unavailable' },
      ],
      heard: ctx.upstream.heard,
    });
    result.end({ complete: true });
  });
});
