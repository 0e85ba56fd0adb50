/**
 * The call stage's abort plumbing (docs/decisions/0151): an attempt runs on the request's own controller,
 * one timer bounds it, and an attempt that must end without the request (its own timeout, a failure, a
 * stream cut short) retires that controller — the request goes on with a fresh one. What a user relies on:
 * a client that leaves cuts the upstream call, each timeout is told apart (attempt vs total) for retries
 * and breakers, a retry never inherits a dead signal, and a late answer is let go.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { chatContext, chunk, completion, deployment, unitDeps } from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import { ClientClosedError, ProviderUnavailableError, TimeoutError } from '../core/errors.js';
import type { ChatCompletion, ChatCompletionChunk, ProviderAdapter } from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import { Router } from '../routing/router.js';
import { createCallStage } from './call.js';

/** Real milliseconds an attempt may take here (the attempt timer is a real timer). */
const ATTEMPT_MS = 40;

function setup(options: { retries?: number; attemptMs?: number; totalMs?: number } = {}) {
  const clock = fakeClock();
  const deps = unitDeps(clock);
  const router = new Router({ routing: loadConfig({ env: {} }).routing, clock, metrics: deps.metrics });
  const call = createCallStage({
    retry: { maxAttempts: options.retries ?? 2, baseDelayMs: 1, maxDelayMs: 10 },
    clock,
    attemptTimeoutMs: options.attemptMs ?? ATTEMPT_MS,
    totalTimeoutMs: options.totalMs ?? 10_000,
    router,
  });
  return { clock, call, router };
}

/** TEST DOUBLE of a provider whose `chat`/`chatStream` run `behave`; records the signal of every call. */
function provider(behave: (signal: AbortSignal, n: number) => Promise<unknown>) {
  const signals: AbortSignal[] = [];
  const run = (signal: AbortSignal) => {
    signals.push(signal);
    return behave(signal, signals.length);
  };
  const adapter: ProviderAdapter = {
    name: 'openai',
    type: 'openai',
    chat: (_req, call) => run(call.signal) as Promise<ChatCompletion>,
    chatStream: (_req, call) => run(call.signal) as Promise<AsyncIterable<ChatCompletionChunk>>,
    embed: () => Promise.reject(new Error('unused')),
  };
  return { adapter, signals };
}

/** Never answers: rejects with the signal's reason once the attempt is aborted (timeout or client). */
const hang = (signal: AbortSignal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

/** Never answers and never looks at its signal (undici's request queued for a pooled connection). */
const deaf = () => new Promise(() => undefined);

function routed(ctx: RequestContext, deployments: Deployment[]): RequestContext {
  ctx.route = { name: 'r', kind: 'alias', strategy: 'failover', deployments };
  return ctx;
}

/** A stream that yields `chunks`, then waits; records whether it was closed (`return`). */
function trackedStream(chunks: ChatCompletionChunk[]) {
  const state = { closed: false };
  let i = 0;
  const iterator: AsyncIterableIterator<ChatCompletionChunk> = {
    next: () =>
      i < chunks.length
        ? Promise.resolve({ done: false, value: chunks[i++] as ChatCompletionChunk })
        : new Promise(() => undefined),
    return: () => {
      state.closed = true;
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return { stream: iterator, state };
}

describe('call stage: one attempt, one controller', () => {
  test('an attempt that answers runs on the request’s own signal, which stays unaborted', async () => {
    const { clock, call } = setup();
    const p = provider(async () => completion('hi'));
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: p.adapter })]);
    const signal = ctx.abort.signal;
    const result = await call(ctx);
    assert.equal(result.kind, 'json');
    assert.equal(p.signals.length, 1);
    assert.equal(p.signals[0], signal, 'no second controller for a single attempt');
    assert.equal(ctx.abort.signal, signal);
    assert.equal(signal.aborted, false);
  });

  test('a client that leaves during the only attempt cuts the upstream call at once', async () => {
    const { clock, call, router } = setup();
    const p = provider((signal) => {
      queueMicrotask(() => ctx.abort.abort(new ClientClosedError()));
      return hang(signal);
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx), ClientClosedError);
    assert.ok(p.signals[0]?.reason instanceof ClientClosedError, 'the upstream call saw the client leave');
    assert.equal(p.signals.length, 1, 'nothing retried');
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 0, 'not the deployment’s fault');
  });

  test('a client that leaves while the call is still queued: the attempt settles at once anyway', async () => {
    const { clock, call } = setup({ attemptMs: 60_000 });
    const p = provider(() => {
      queueMicrotask(() => ctx.abort.abort(new ClientClosedError()));
      return deaf();
    });
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: p.adapter })]);
    await assert.rejects(call(ctx), ClientClosedError);
  });
});

describe('call stage: attempt timeout vs total timeout', () => {
  test('the attempt’s own timeout cuts that attempt only: the retry runs on a fresh signal and serves', async () => {
    const { clock, call, router } = setup({ retries: 2 });
    const p = provider((signal, n) =>
      n === 1 ? hang(signal) : Promise.resolve(completion('late but fine')),
    );
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock, { max_tokens: 1 }), [A]);
    const result = await call(ctx);
    assert.equal(result.kind, 'json');
    const [first, second] = p.signals;
    assert.ok(first?.reason instanceof TimeoutError);
    assert.match((first.reason as Error).message, /did not answer within 40 ms/);
    assert.ok(second && second !== first, 'the retry does not inherit the timed-out signal');
    assert.equal(second.aborted, false);
    assert.equal(ctx.abort.signal.aborted, false, 'the request itself was never aborted');
    assert.deepEqual(
      ctx.upstream.billable.map((b) => [b.deployment.id, b.streamed, b.code]),
      [[A.id, null, 'upstream_timeout']],
      'the timed-out attempt may be billed',
    );
    assert.equal(ctx.upstream.attempts, 2);
    assert.equal(router.breaker(A).snapshot().state, 'closed');
  });

  test('a total timeout shorter than the attempt’s: the request is aborted, nothing retried, the breaker counts it', async () => {
    const { clock, call, router } = setup({ retries: 3, attemptMs: 60_000, totalMs: ATTEMPT_MS });
    const p = provider(hang);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock, { max_tokens: 1 }), [A]);
    await assert.rejects(call(ctx), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.match(err.message, /total timeout of 40 ms/);
      return true;
    });
    assert.equal(p.signals.length, 1);
    assert.ok(
      ctx.abort.signal.reason instanceof TimeoutError,
      'the request’s own signal carries the deadline',
    );
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 1, 'a slow deployment earns it');
  });

  test('a deployment that timed out is not retried while another may serve: the route moves on', async () => {
    const { clock, call, router } = setup({ retries: 3 });
    const hung = provider(hang);
    const healthy = provider(async () => completion('from b'));
    const A = deployment('openai', 'gpt-4o-mini', { adapter: hung.adapter });
    const B = deployment('openai', 'gpt-4o', { adapter: healthy.adapter });
    const ctx = routed(chatContext(clock, { max_tokens: 1 }), [A, B]);
    const result = await call(ctx);
    assert.equal(result.kind, 'json');
    assert.equal(hung.signals.length, 1, 'one attempt on the hung deployment, no retries');
    assert.equal(healthy.signals.length, 1);
    assert.equal(ctx.upstream.fallbackCount, 1);
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 1, 'the hang counts against it');
    // With the other deployment's breaker open, the hung one keeps its retries (nothing else may serve).
    const { clock: clock2, call: call2, router: router2 } = setup({ retries: 2 });
    const again = provider(hang);
    const A2 = deployment('openai', 'gpt-4o-mini', { adapter: again.adapter });
    const B2 = deployment('openai', 'gpt-4o', { adapter: provider(hang).adapter });
    const open = router2.breaker(B2);
    while (open.tryAcquire()) open.failure();
    await assert.rejects(call2(routed(chatContext(clock2, { max_tokens: 1 }), [A2, B2])), /upstream_timeout/);
    assert.equal(again.signals.length, 2, 'retried: the fallback is open');
  });

  test('a retry cut short by the total deadline is a timeout of the deployment, not an oversized request', async () => {
    // Each attempt may take 40 ms; the total leaves the retry about 20. The output limit needs 20 ms a
    // token × 1 = 20 ms: it fits an attempt, so the cut is the deployment's hang, not the request's size.
    const { clock, call, router } = setup({ retries: 3, totalMs: 60 });
    const p = provider(hang);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock, { max_tokens: 1 }), [A]);
    await assert.rejects(call(ctx), (err: unknown) => {
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.constructor.name, 'TimeoutError', 'not OversizedRequestTimeoutError');
      assert.doesNotMatch(err.message, /Lower max_tokens/);
      return true;
    });
    assert.ok(p.signals.length >= 2, 'the retry ran');
    assert.ok(router.breaker(A).snapshot().consecutiveFailures >= 1);
  });

  test('a failed attempt is cut and the retry gets a fresh signal; the request stays unaborted', async () => {
    const { clock, call } = setup({ retries: 2 });
    const down = new ProviderUnavailableError('unavailable', 'openai', { upstreamStatus: 503 });
    const p = provider((_signal, n) => (n === 1 ? Promise.reject(down) : Promise.resolve(completion('ok'))));
    const ctx = routed(chatContext(clock), [deployment('openai', 'gpt-4o-mini', { adapter: p.adapter })]);
    await call(ctx);
    const [first, second] = p.signals;
    assert.equal(first?.aborted, true, 'whatever the failed attempt left open is cut');
    assert.equal(second?.aborted, false);
    assert.equal(ctx.abort.signal.aborted, false);
  });
});

describe('call stage: streams on the request’s controller', () => {
  test('a stream closed unfinished cuts its upstream; the request is not aborted by it', async () => {
    const { clock, call } = setup();
    const { stream } = trackedStream([chunk(null), chunk('hel')]);
    const p = provider(async () => stream);
    const ctx = routed(chatContext(clock, { stream: true }), [
      deployment('openai', 'gpt-4o-mini', { adapter: p.adapter }),
    ]);
    const result = await call(ctx);
    assert.equal(result.kind, 'stream');
    if (result.kind !== 'stream') return;
    result.end({ complete: false });
    assert.ok(p.signals[0]?.aborted, 'the upstream call is cut');
    assert.equal(ctx.abort.signal.aborted, false, 'the request goes on (its error is its own)');
  });

  test('a stream that completed keeps its upstream signal unaborted (the connection is reused)', async () => {
    const { clock, call } = setup();
    const { stream } = trackedStream([chunk(null), chunk('hi', 'stop')]);
    const p = provider(async () => stream);
    const ctx = routed(chatContext(clock, { stream: true }), [
      deployment('openai', 'gpt-4o-mini', { adapter: p.adapter }),
    ]);
    const result = await call(ctx);
    if (result.kind === 'stream') result.end({ complete: true });
    assert.equal(p.signals[0]?.aborted, false);
  });

  test('a stream that opens after its attempt timed out is closed, not leaked', async () => {
    const { clock, call } = setup({ retries: 2 });
    const late = trackedStream([chunk(null), chunk('late')]);
    let openLate: (s: AsyncIterable<ChatCompletionChunk>) => void = () => undefined;
    const p = provider((_signal, n) =>
      n === 1
        ? new Promise((resolve) => {
            openLate = resolve;
          })
        : Promise.resolve(trackedStream([chunk(null), chunk('ok', 'stop')]).stream),
    );
    const ctx = routed(chatContext(clock, { stream: true }), [
      deployment('openai', 'gpt-4o-mini', { adapter: p.adapter }),
    ]);
    const result = await call(ctx);
    assert.equal(result.kind, 'stream');
    openLate(late.stream);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(late.state.closed, true);
    if (result.kind === 'stream') result.end({ complete: true });
  });
});
