import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { createContext, type RequestContext, type RequestEnd } from '../core/context.js';
import { ClientClosedError, GatewayRateLimitError, ProviderUnavailableError } from '../core/errors.js';
import { completionResult, type OpenedStream, type Result, streamResult } from '../core/result.js';
import { type Next, type Stage, stage } from '../core/stage.js';
import type { ChatCompletion, ChatCompletionChunk } from '../providers/types.js';
import { createPipeline, type PipelineParts } from './pipeline.js';

const log = pino({ level: 'silent' });

function context(): RequestContext {
  return createContext({ requestId: 'r1', startedAt: 0, log, endpoint: 'chat' });
}

const answer: ChatCompletion = {
  id: 'c1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'hi', refusal: null },
      finish_reason: 'stop',
      logprobs: null,
    },
  ],
  usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
};

function chunk(content: string | null, finish: string | null = null): ChatCompletionChunk {
  return {
    id: 'c1',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [
      {
        index: 0,
        delta: content === null ? {} : { content },
        finish_reason: finish as ChatCompletionChunk.Choice['finish_reason'],
      },
    ],
  };
}

/** An opened stream over `chunks` that records how it was closed. */
function opened(chunks: ChatCompletionChunk[], closed: boolean[]): OpenedStream {
  const rest = chunks.slice(1)[Symbol.iterator]();
  return {
    head: chunks.slice(0, 1),
    rest: { next: async () => rest.next() },
    close: (complete) => void closed.push(complete),
  };
}

/** A pipeline whose stages are pass-throughs (or the given ones), recording the order things ran. */
function build(overrides: Partial<PipelineParts> = {}) {
  const trace: string[] = [];
  const ends: RequestEnd[] = [];
  const pass = (name: string): Stage =>
    stage(name, (ctx, next) => {
      trace.push(name);
      return next(ctx);
    });
  const step = (name: string) => ({ name, settle: () => void trace.push(`settle:${name}`) });
  const call: Next = async () => {
    trace.push('call');
    return completionResult(answer, 'upstream', null);
  };
  const parts: PipelineParts = {
    open: [{ name: 'telemetry', open: () => void trace.push('open') }],
    authenticate: pass('authenticate'),
    decode: pass('decode'),
    resolve: pass('resolve'),
    admit: [pass('ratelimit'), pass('budgets')],
    price: pass('price'),
    cache: pass('cache'),
    route: pass('route'),
    call,
    settle: {
      cost: {
        name: 'cost',
        settle: (ctx) => {
          trace.push('settle:cost');
          // The outcome is recorded before settle runs; settle only reads it.
          assert.equal(ctx.outcome === null, ctx.end?.error !== null);
        },
      },
      usage: step('usage'),
      budgets: step('budgets'),
      ratelimit: step('ratelimit'),
      telemetry: {
        name: 'telemetry',
        settle: (ctx) => {
          trace.push('settle:telemetry');
          ends.push(ctx.end as RequestEnd);
        },
      },
    },
    onStepError: (step) => trace.push(`step-error:${step}`),
    ...overrides,
  };
  return { pipeline: createPipeline(parts), trace, ends };
}

describe('pipeline', () => {
  test('runs the stages in the documented order, then settles a JSON answer: cost before the write, rest after', async () => {
    const { pipeline, trace, ends } = build();
    assert.deepEqual(pipeline.stages, [
      'authenticate',
      'decode',
      'resolve',
      'ratelimit',
      'budgets',
      'price',
      'cache',
      'route',
      'call',
    ]);
    const ctx = context();
    pipeline.open(ctx);
    const handled = await pipeline.run(ctx);
    await handled.settled;
    assert.equal(handled.result.kind, 'json');
    assert.equal(ctx.outcome, handled.result.outcome);
    // Before the answer is written only its cost is settled (`X-Cost` goes out with it).
    assert.equal(trace.at(-1), 'settle:cost');
    assert.deepEqual(ends, []);
    handled.written();
    handled.written();
    assert.deepEqual(trace, [
      'open',
      'authenticate',
      'decode',
      'resolve',
      'ratelimit',
      'budgets',
      'price',
      'cache',
      'route',
      'call',
      'settle:cost',
      'settle:usage',
      'settle:budgets',
      'settle:ratelimit',
      'settle:telemetry',
    ]);
    assert.deepEqual(ends, [{ status: 200, error: null, complete: true }]);
    // A late error handler (the server's) cannot settle it again.
    await pipeline.reject(ctx, new ProviderUnavailableError('late', 'openai'));
    assert.equal(ends.length, 1);
  });

  test('an error in a stage settles once with its status, skips the later stages and is rethrown', async () => {
    const refuse = stage('ratelimit', async () => {
      throw new GatewayRateLimitError('slow down', 2_000, 'rate_limit_exceeded');
    });
    const { pipeline, trace, ends } = build({ admit: [refuse] });
    const ctx = context();
    await assert.rejects(pipeline.run(ctx), GatewayRateLimitError);
    assert.ok(!trace.includes('call'));
    assert.equal(ends.length, 1);
    assert.equal(ends[0]?.status, 429);
    assert.equal(ends[0]?.complete, false);
    assert.equal(ends[0]?.error?.code, 'rate_limit_exceeded');
    await pipeline.reject(ctx, ends[0]?.error as GatewayRateLimitError);
    assert.equal(ends.length, 1, 'the error handler does not settle twice');
  });

  test('a stage that throws synchronously (no async function) fails the request the same way', async () => {
    const refuse = stage('ratelimit', () => {
      throw new GatewayRateLimitError('slow down', 2_000, 'rate_limit_exceeded');
    });
    // Called on its own, it still answers with a rejected promise, as an async stage would.
    const alone = refuse.run(context(), async () => completionResult(answer, 'upstream', null));
    await assert.rejects(alone, GatewayRateLimitError);
    const { pipeline, trace, ends } = build({ admit: [refuse] });
    await assert.rejects(pipeline.run(context()), GatewayRateLimitError);
    assert.ok(!trace.includes('call'));
    assert.deepEqual(
      ends.map((e) => [e.status, e.error?.code]),
      [[429, 'rate_limit_exceeded']],
    );
  });

  test('asynchronous settle steps are awaited in order; a rejected one is reported and the rest still run', async () => {
    const trace: string[] = [];
    const later = (name: string, fail = false) => ({
      name,
      settle: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        trace.push(`settle:${name}`);
        if (fail) throw new Error('boom');
      },
    });
    const { pipeline } = build({
      settle: {
        cost: later('cost'),
        usage: { name: 'usage', settle: () => void trace.push('settle:usage') },
        budgets: later('budgets', true),
        ratelimit: { name: 'ratelimit', settle: () => void trace.push('settle:ratelimit') },
        telemetry: later('telemetry'),
      },
      onStepError: (step) => trace.push(`step-error:${step}`),
    });
    const handled = await pipeline.run(context());
    // The JSON answer is handed over once its cost is settled; the rest runs after it was written.
    assert.deepEqual(trace, ['settle:cost']);
    handled.written();
    for (let turn = 0; turn < 10 && trace.length < 6; turn++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(trace, [
      'settle:cost',
      'settle:usage',
      'settle:budgets',
      'step-error:budgets',
      'settle:ratelimit',
      'settle:telemetry',
    ]);
  });

  test('a cache hit answers without the call stage and is settled once', async () => {
    const cache = stage('cache', async (): Promise<Result> => completionResult(answer, 'cache', null));
    const { pipeline, trace, ends } = build({ cache });
    const ctx = context();
    const handled = await pipeline.run(ctx);
    handled.written();
    const { result } = handled;
    assert.equal(result.outcome.source, 'cache');
    assert.ok(!trace.includes('call') && !trace.includes('route'));
    assert.deepEqual(ends, [{ status: 200, error: null, complete: true }]);
  });

  test('a stream is settled once, when it ended: complete', async () => {
    const closed: boolean[] = [];
    const now = () => 42;
    const call: Next = async () =>
      streamResult(opened([chunk(null), chunk('Hel'), chunk('lo', 'stop')], closed), 'upstream', null, now);
    const { pipeline, ends } = build({ call });
    const ctx = context();
    const { result, settled } = await pipeline.run(ctx);
    assert.equal(result.kind, 'stream');
    assert.equal(ends.length, 0, 'not settled while the stream runs');
    if (result.kind !== 'stream') return;
    while (!(await result.rest.next()).done) {}
    result.end({ complete: true });
    result.end({ complete: false, error: new ClientClosedError() }); // idempotent
    await settled;
    assert.deepEqual(ends, [{ status: 200, error: null, complete: true }]);
    assert.deepEqual(closed, [true]);
    // The outcome was filled in as the chunks passed.
    assert.equal(ctx.outcome?.output.text, 'Hello');
    assert.equal(ctx.outcome?.finishReason, 'stop');
    assert.equal(ctx.outcome?.firstTokenAt, 42);
  });

  test('a stream aborted mid-way by the client is settled once, incomplete, and its source is cut', async () => {
    const closed: boolean[] = [];
    const call: Next = async () =>
      streamResult(opened([chunk(null), chunk('a'), chunk('b')], closed), 'upstream', null, () => 0);
    const { pipeline, ends } = build({ call });
    const ctx = context();
    const { result, settled } = await pipeline.run(ctx);
    if (result.kind !== 'stream') throw new Error('expected a stream');
    await result.rest.next();
    result.end({ complete: false, error: new ClientClosedError() });
    await settled;
    result.end({ complete: true });
    await pipeline.reject(ctx, new ClientClosedError());
    assert.equal(ends.length, 1);
    assert.equal(ends[0]?.complete, false);
    assert.equal(ends[0]?.error?.code, 'client_closed');
    assert.deepEqual(closed, [false]);
    assert.equal(ctx.outcome?.output.text, 'a');
  });

  test('a settle step that throws is reported; the later steps still run', async () => {
    const trace: string[] = [];
    const quiet = (name: string) => ({ name, settle: () => undefined });
    const { pipeline } = build({
      settle: {
        cost: {
          name: 'cost',
          settle: () => {
            throw new Error('boom');
          },
        },
        usage: quiet('usage'),
        budgets: quiet('budgets'),
        ratelimit: quiet('ratelimit'),
        telemetry: { name: 'telemetry', settle: () => void trace.push('settle:telemetry') },
      },
      onStepError: (step) => trace.push(`step-error:${step}`),
    });
    (await pipeline.run(context())).written();
    assert.deepEqual(trace, ['step-error:cost', 'settle:telemetry']);
  });

  test('a request refused before the pipeline ran (body too large) is settled by reject, once', async () => {
    const { pipeline, ends } = build();
    const ctx = context();
    await pipeline.reject(ctx, new ProviderUnavailableError('x', 'openai'));
    await pipeline.reject(ctx, new ProviderUnavailableError('x', 'openai'));
    assert.equal(ends.length, 1);
    assert.equal(ends[0]?.status, 502);
  });
});
