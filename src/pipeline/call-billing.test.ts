/**
 * The call stage's two per-attempt judgements: which failed attempts the provider may bill
 * (`ctx.upstream.billable`, docs/decisions/0082) and which failures count against a deployment's breaker
 * (docs/decisions/0083).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { chatContext, chunk, completion, deployment, unitDeps } from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import {
  ClientClosedError,
  InvalidRequestError,
  OversizedRequestTimeoutError,
  ProviderUnavailableError,
  RateLimitError,
  ServiceUnavailableError,
  TimeoutError,
} from '../core/errors.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  ProviderAdapter,
} from '../providers/types.js';
import type { Deployment } from '../routing/resolver.js';
import { Router } from '../routing/router.js';
import { createCallStage } from './call.js';

/** Real milliseconds an attempt may take here (the attempt timer is a real timer). */
const ATTEMPT_MS = 40;

function setup(options: { retries?: number; yaml?: string } = {}) {
  const clock = fakeClock();
  const deps = unitDeps(clock);
  const router = new Router({
    routing: loadConfig({ env: {}, yamlText: options.yaml }).routing,
    clock,
    metrics: deps.metrics,
  });
  const call = createCallStage({
    retry: { maxAttempts: options.retries ?? 2, baseDelayMs: 1, maxDelayMs: 10 },
    clock,
    attemptTimeoutMs: ATTEMPT_MS,
    totalTimeoutMs: 10_000,
    router,
  });
  return { clock, call, router };
}

/** TEST DOUBLE of a provider whose `chat`/`chatStream` run `behave` (counting calls). */
function provider(behave: (signal: AbortSignal, n: number) => Promise<unknown>) {
  let calls = 0;
  const adapter: ProviderAdapter = {
    name: 'openai',
    type: 'openai',
    chat: (_req, call) => behave(call.signal, ++calls) as Promise<ChatCompletion>,
    chatStream: (_req, call) => behave(call.signal, ++calls) as Promise<AsyncIterable<ChatCompletionChunk>>,
    embed: () => Promise.reject(new Error('unused')),
  };
  return { adapter, calls: () => calls };
}

/** Never answers: rejects with the signal's reason once the attempt is aborted (timeout or client). */
const hang = (signal: AbortSignal) =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));

function routed(ctx: RequestContext, deployments: Deployment[]): RequestContext {
  ctx.route = { name: 'r', kind: 'alias', strategy: 'failover', deployments };
  return ctx;
}

const billed = (ctx: RequestContext) =>
  ctx.upstream.billable.map((b) => [b.deployment.id, b.streamed, b.code]);

describe('call stage: which failed attempts may be billed', () => {
  test('a whole answer timed out after it was sent: billable, no answer seen (worst case)', async () => {
    const { clock, call } = setup({ retries: 1 });
    const p = provider(hang);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx), TimeoutError);
    assert.deepEqual(billed(ctx), [[A.id, null, 'upstream_timeout']]);
  });

  test('a whole answer the client abandoned while waiting: billable, worst case', async () => {
    const { clock, call } = setup();
    const p = provider((signal) => {
      queueMicrotask(() => ctx.abort.abort(new ClientClosedError()));
      return hang(signal);
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx), ClientClosedError);
    assert.deepEqual(billed(ctx), [[A.id, null, 'client_closed']]);
    assert.equal(p.calls(), 1, 'nothing is retried for a client that left');
  });

  test('a whole answer cut off by the gateway shutting down: billable, worst case', async () => {
    const { clock, call } = setup();
    const p = provider((signal) => {
      queueMicrotask(() => ctx.abort.abort(new ServiceUnavailableError('The gateway shut down.')));
      return hang(signal);
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx), ServiceUnavailableError);
    assert.deepEqual(billed(ctx), [[A.id, null, 'service_unavailable']]);
    assert.equal(p.calls(), 1, 'nothing is retried after shutdown');
  });

  test('a stream accepted (2xx) that failed before its first text, then a retry that served: the first is billable', async () => {
    const { clock, call } = setup();
    const p = provider(async (_signal, n) => {
      if (n === 1) {
        return (async function* () {
          yield chunk(null);
          throw new ProviderUnavailableError('openai closed the stream early.', 'openai');
        })();
      }
      return (async function* () {
        yield chunk(null);
        yield chunk('ok', 'stop');
      })();
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock, { stream: true }), [A]);
    const result = await call(ctx);
    assert.equal(result.kind, 'stream');
    if (result.kind === 'stream') result.end({ complete: true });
    // Nothing was streamed yet (text commits the stream): its prompt is what the provider may bill.
    assert.deepEqual(billed(ctx), [[A.id, '', 'provider_unavailable']]);
  });

  test('a stream abandoned before the provider answered: billable at the worst case, like a whole answer', async () => {
    const { clock, call } = setup();
    const p = provider((signal) => {
      queueMicrotask(() => ctx.abort.abort(new ClientClosedError()));
      return hang(signal);
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    const ctx = routed(chatContext(clock, { stream: true }), [A]);
    await assert.rejects(call(ctx), ClientClosedError);
    // Nothing of the answer was seen: the reservation (DESIGN §7), not the prompt alone.
    assert.deepEqual(billed(ctx), [[A.id, null, 'client_closed']]);
  });

  test('refused by the provider (4xx, 429, 5xx status) or never connected: nothing billable', async () => {
    const refused = [
      new InvalidRequestError('context length exceeded', 'openai', { upstreamStatus: 400 }),
      new RateLimitError('slow down', 'openai', { upstreamStatus: 429, retryAfterMs: 1 }),
      new ProviderUnavailableError('unavailable', 'openai', { upstreamStatus: 503 }),
      new ProviderUnavailableError('openai could not be reached (ECONNREFUSED).', 'openai', {
        cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      }),
      new TimeoutError('openai did not answer in time.', 'openai', {
        cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }),
      }),
    ];
    for (const err of refused) {
      const { clock, call } = setup({ retries: 1 });
      const A = deployment('openai', 'gpt-4o-mini', { adapter: provider(() => Promise.reject(err)).adapter });
      const ctx = routed(chatContext(clock), [A]);
      await assert.rejects(call(ctx));
      assert.deepEqual(billed(ctx), [], err.message);
    }
  });

  test('a 2xx whose body could not be used: billable, worst case', async () => {
    const { clock, call } = setup({ retries: 1 });
    const broken = new ProviderUnavailableError('not JSON', 'openai', { upstreamStatus: 200 });
    const A = deployment('openai', 'gpt-4o-mini', {
      adapter: provider(() => Promise.reject(broken)).adapter,
    });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx));
    assert.deepEqual(billed(ctx), [[A.id, null, 'provider_unavailable']]);
  });

  test('a success leaves nothing billable (the answer is charged from the outcome)', async () => {
    const { clock, call } = setup();
    const A = deployment('openai', 'gpt-4o-mini', {
      adapter: provider(async () => completion('hi')).adapter,
    });
    const ctx = routed(chatContext(clock), [A]);
    await call(ctx);
    assert.deepEqual(billed(ctx), []);
  });
});

describe('call stage: which failures count against the breaker', () => {
  const huge = { max_tokens: 100_000 } as Partial<ChatRequest>;

  test('a whole answer too large for its timeout: the request’s fault — not retried, breaker untouched', async () => {
    const { clock, call, router } = setup({ retries: 3 });
    const p = provider(hang);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    for (let i = 0; i < 6; i++) {
      const ctx = routed(chatContext(clock, huge), [A]);
      await assert.rejects(call(ctx), (err: unknown) => {
        assert.ok(err instanceof OversizedRequestTimeoutError);
        assert.equal(err.status, 504);
        assert.equal(err.code, 'upstream_timeout');
        assert.match(err.message, /Lower max_tokens, stream the answer/);
        return true;
      });
    }
    assert.equal(p.calls(), 6, 'one attempt each: a retry would time out again');
    const snapshot = router.breaker(A).snapshot();
    assert.equal(snapshot.state, 'closed');
    assert.equal(snapshot.consecutiveFailures, 0);
  });

  test('a request that should have fitted its timeout: the deployment’s fault — retried, breaker opens', async () => {
    const { clock, call, router } = setup({ retries: 2 });
    const p = provider(hang);
    const A = deployment('openai', 'gpt-4o-mini', { adapter: p.adapter });
    // 1 token × 20 ms ≤ the 40 ms attempt: a healthy deployment answers in time.
    for (let i = 0; i < 5; i++) {
      const ctx = routed(chatContext(clock, { max_tokens: 1 }), [A]);
      await assert.rejects(call(ctx), (err: unknown) => err instanceof TimeoutError && err.isRetryable);
    }
    assert.equal(p.calls(), 10);
    assert.equal(router.breaker(A).state, 'open', 'five consecutive timeouts open it');
  });

  test('a stream’s timeout bounds its first chunk, which max_tokens does not lengthen: it counts', async () => {
    const { clock, call, router } = setup({ retries: 1 });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: provider(hang).adapter });
    const ctx = routed(chatContext(clock, { ...huge, stream: true }), [A]);
    await assert.rejects(call(ctx), (err: unknown) => !(err instanceof OversizedRequestTimeoutError));
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 1);
  });

  test('expected_ms_per_output_token: 0 turns the attribution off (every timeout counts)', async () => {
    const { clock, call, router } = setup({
      retries: 1,
      yaml: 'routing:\n  breaker:\n    expected_ms_per_output_token: 0\n',
    });
    const A = deployment('openai', 'gpt-4o-mini', { adapter: provider(hang).adapter });
    const ctx = routed(chatContext(clock, huge), [A]);
    await assert.rejects(call(ctx), (err: unknown) => !(err instanceof OversizedRequestTimeoutError));
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 1);
  });

  test('a 4xx from the provider and a client that left do not count; a 5xx does', async () => {
    const cases: Array<[Error, number]> = [
      [new InvalidRequestError('context length exceeded', 'openai', { upstreamStatus: 400 }), 0],
      [new ProviderUnavailableError('unavailable', 'openai', { upstreamStatus: 500 }), 1],
    ];
    for (const [err, failures] of cases) {
      const { clock, call, router } = setup({ retries: 1 });
      const A = deployment('openai', 'gpt-4o-mini', { adapter: provider(() => Promise.reject(err)).adapter });
      await assert.rejects(call(routed(chatContext(clock), [A])));
      assert.equal(router.breaker(A).snapshot().consecutiveFailures, failures, err.message);
    }
    const { clock, call, router } = setup();
    const A = deployment('openai', 'gpt-4o-mini', {
      adapter: provider((signal) => {
        queueMicrotask(() => ctx.abort.abort(new ClientClosedError()));
        return hang(signal);
      }).adapter,
    });
    const ctx = routed(chatContext(clock), [A]);
    await assert.rejects(call(ctx), ClientClosedError);
    assert.equal(router.breaker(A).snapshot().consecutiveFailures, 0);
  });
});
