/**
 * Helpers for the unit tests of single pipeline stages (the `*.test.ts` files under src/): a context, a fake
 * `next` that answers with a canned result and records every call, feature deps without stores, captured
 * log lines, and builders for answers, chunks and deployments.
 *
 * Time: the tests use `fakeClock` (fake-clock.ts). Its sleeps return at once and move its time forward, so
 * `advance` moves a stage's clock without waiting; nothing here reads the real date.
 */
import pino, { type Logger } from 'pino';
import type { Clock } from '../../src/core/clock.js';
import { type ContextInit, createContext, type RequestContext } from '../../src/core/context.js';
import type { Result } from '../../src/core/result.js';
import type { Next } from '../../src/core/stage.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatRequest,
  ProviderAdapter,
  Usage,
} from '../../src/providers/types.js';
import type { Deployment } from '../../src/routing/resolver.js';
import type { FeatureDeps } from '../../src/stores/deps.js';
import { createMetrics, type Metrics } from '../../src/telemetry/metrics.js';

export const silentLog: Logger = pino({ level: 'silent' });

/** Moves a fake clock forward by `ms` at once (its `sleep` skips the time; nothing waits). */
export function advance(clock: Clock, ms: number): void {
  void clock.sleep(ms, new AbortController().signal);
}

/** A context for `endpoint`, started now on `clock`. */
export function stageContext(clock: Clock, init: Partial<ContextInit> = {}): RequestContext {
  return createContext({
    requestId: 'req-test',
    startedAt: clock.now(),
    log: silentLog,
    endpoint: 'chat',
    ...init,
  });
}

/** A chat context whose body was already decoded (what the stages after `decode` see). */
export function chatContext(
  clock: Clock,
  body: Partial<ChatRequest> = {},
  init: Partial<ContextInit> = {},
): RequestContext {
  const ctx = stageContext(clock, init);
  const request = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello' }],
    ...body,
  } as ChatRequest;
  ctx.request = { kind: 'chat', model: request.model, stream: request.stream === true, body: request };
  return ctx;
}

export interface RecordingNext {
  readonly next: Next;
  /** The contexts `next` was called with, in order. */
  readonly calls: RequestContext[];
}

/** A fake `next`: answers with `answer(ctx)` and records that it was called. */
export function recordingNext(answer: (ctx: RequestContext) => Result | Promise<Result>): RecordingNext {
  const calls: RequestContext[] = [];
  return {
    calls,
    next: async (ctx) => {
      calls.push(ctx);
      return answer(ctx);
    },
  };
}

/** Feature deps for a unit test: no Redis, no database (using it fails the test), fresh metrics. */
export function unitDeps(clock: Clock, logger: Logger = silentLog): FeatureDeps & { metrics: Metrics } {
  return {
    logger,
    metrics: createMetrics({ processMetrics: false }),
    clock,
    redis: null,
    database() {
      throw new Error('a stage unit test must not open the database');
    },
  };
}

/** A pino logger whose JSON lines land in `lines` (parsed), synchronously. */
export function capturedLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** The current samples of one metric. */
export async function samples(metrics: Metrics, name: string) {
  return (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
}

/** An adapter that fails the test if a stage other than the call stage reaches the provider. */
export const unusedAdapter: ProviderAdapter = {
  name: 'openai',
  type: 'openai',
  chat: () => Promise.reject(new Error('unexpected provider call')),
  chatStream: () => Promise.reject(new Error('unexpected provider call')),
  embed: () => Promise.reject(new Error('unexpected provider call')),
};

export function deployment(
  provider: string,
  model: string,
  extra: Partial<Omit<Deployment, 'provider' | 'model'>> = {},
): Deployment {
  return {
    id: `${provider}/${model}`,
    provider,
    model,
    adapter: unusedAdapter,
    weight: 1,
    priority: 0,
    ...extra,
  };
}

/** A whole chat answer. */
export function completion(
  text: string,
  usage: Usage | null = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
  model = 'gpt-4o-mini-2024-07-18',
): ChatCompletion {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        finish_reason: 'stop',
        logprobs: null,
      },
    ],
    ...(usage ? { usage } : {}),
  };
}

/** One stream chunk: a content delta (null: the opening role chunk) and an optional finish reason. */
export function chunk(
  content: string | null,
  finish: ChatCompletionChunk.Choice['finish_reason'] = null,
  extra: Partial<ChatCompletionChunk> = {},
): ChatCompletionChunk {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        delta: content === null ? { role: 'assistant', content: '' } : { content },
        finish_reason: finish,
      },
    ],
    ...extra,
  };
}

/** The usage-only chunk a stream ends with when usage was asked for. */
export function usageChunk(usage: Usage): ChatCompletionChunk {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [],
    usage,
  };
}
