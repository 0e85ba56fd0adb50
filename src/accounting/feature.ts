/**
 * Cost accounting and budgets as gateway features (DESIGN §7, §8):
 *
 * - `budgets` (hook): reserves the worst-case cost before the call, settles it after (see budgets.ts).
 * - `accounting` (hook + pipeline wrapper + admin routes): computes `ctx.costUsd`, sends `X-Cost` (JSON
 *   answers) or a final `: X-Cost: …` SSE comment before `[DONE]` (streams), counts tokens and cost in the
 *   metrics, queues one usage record per request that reached an upstream or the cache, feeds the daily
 *   cost alert and serves `/admin/costs/*`.
 *
 * @example
 * const { budgets, accounting, priceOf } = createAccountingFeatures(services);
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Feature, GatewayServices } from '../gateway.js';
import type { ChatPipeline } from '../pipeline/chat.js';
import type { OpenedStream, RequestContext } from '../pipeline/context.js';
import type { RequestOutcome } from '../pipeline/hooks.js';
import type { ChatCompletionChunk } from '../providers/types.js';
import { DailyCostAlert } from './alerts.js';
import { MemoryBudgetStore, RedisBudgetStore } from './budget-store.js';
import { createBudgetHook } from './budgets.js';
import {
  Accountant,
  type CapturedOutput,
  type FinalCost,
  formatUsd,
  MAX_OUTPUT_TEXT,
  OUTPUT_TEXT,
} from './cost.js';
import { type ModelPrice, PriceTable } from './pricing.js';
import { type UsageRecord, UsageRecorder } from './recorder.js';
import { registerCostRoutes } from './reports.js';

export interface AccountingFeatures {
  /** Admits before the call (place it after the rate limiter, before the router). */
  budgets: Feature;
  /** Cost, usage records, alert, reports. */
  accounting: Feature;
  /** USD per 1M tokens of a model (built-in table + `pricing.models`), for the router's `cost` strategy. */
  priceOf: (model: string) => ModelPrice | null;
}

/** The budget feature and the accounting feature, sharing one pricing table. */
export function createAccountingFeatures(services: GatewayServices): AccountingFeatures {
  const { config, logger, metrics, redis } = services;
  const accountant = new Accountant(new PriceTable(config.pricing.models), { metrics, logger });
  const now = () => Date.now();
  const budgets: Feature = {
    name: 'budgets',
    hook: createBudgetHook({
      settings: config.budgets,
      store: redis ? new RedisBudgetStore(redis.client) : new MemoryBudgetStore(),
      accountant,
      metrics,
      logger,
      redis,
      keyPrefix: config.redis.key_prefix,
      now,
    }),
  };
  return {
    budgets,
    accounting: createAccountingFeature(services, accountant),
    priceOf: (model) => accountant.prices.priceOf(model),
  };
}

/** Where spool files go: configured, next to the PGlite data directory, or a temp dir for memory://. */
function spoolDirOf(services: GatewayServices): string {
  const { accounting, database } = services.config;
  if (accounting.spool_dir) return accounting.spool_dir;
  if (database.data_dir === 'memory://') return mkdtempSync(join(tmpdir(), 'llmgw-spool-'));
  return join(dirname(database.data_dir), 'spool');
}

function createAccountingFeature(services: GatewayServices, accountant: Accountant): Feature {
  const { config, logger, metrics, redis } = services;
  const settings = config.accounting;
  const recorder = settings.enabled
    ? new UsageRecorder({
        database: () => services.database(),
        spoolDir: spoolDirOf(services),
        batchSize: settings.batch_size,
        flushIntervalMs: settings.flush_interval_ms,
        writeTimeoutMs: settings.write_timeout_ms,
        closeTimeoutMs: settings.close_timeout_ms,
        logger,
        metrics,
      })
    : null;
  const alert = new DailyCostAlert({
    thresholdUsd: settings.daily_alert_threshold_usd,
    webhookUrl: settings.alert_webhook_url,
    webhookTimeoutMs: settings.alert_webhook_timeout_ms,
    redis,
    keyPrefix: config.redis.key_prefix,
    logger,
    metrics,
    now: () => Date.now(),
  });

  const finalizing = new Set<Promise<void>>();
  const streamDone: RequestOutcome = { status: 200, error: null, complete: true };

  return {
    name: 'accounting',
    hook: {
      name: 'accounting',
      respond(ctx) {
        accountant.compute(ctx);
        if (ctx.costUsd !== null && (!ctx.stream || ctx.cache.status === 'HIT')) {
          ctx.responseHeaders['x-cost'] = formatUsd(ctx.costUsd);
        }
      },
      async streamEnd(ctx) {
        const final = await accountant.finalize(ctx, streamDone);
        return final.costUsd === null ? null : `X-Cost: ${formatUsd(final.costUsd)}`;
      },
      finish(ctx, outcome) {
        const reachedUpstream = ctx.attempts > 0 || ctx.cache.status === 'HIT';
        if (!reachedUpstream) return;
        const done = accountant
          .finalize(ctx, outcome)
          .then((final) => {
            if (final.costUsd) void alert.add(final.costUsd);
            recorder?.record(toRecord(ctx, outcome, final));
          })
          .catch((err: unknown) => {
            logger.error(
              { event: 'usage.record_error', request_id: ctx.requestId, err },
              'usage not recorded',
            );
          });
        // close() waits for these, so a request that ended just before shutdown is still recorded.
        finalizing.add(done);
        void done.finally(() => finalizing.delete(done));
      },
    },
    wrapPipeline: (inner) => withUsageCapture(inner, accountant),
    routes(app) {
      registerCostRoutes(app, { database: () => services.database(), now: () => Date.now() });
    },
    async close() {
      await Promise.allSettled([...finalizing]);
      await recorder?.close();
    },
  };
}

/** The usage record of a finished request. */
export function toRecord(ctx: RequestContext, outcome: RequestOutcome, final: FinalCost): UsageRecord {
  const usage = ctx.usage;
  const hit = ctx.cache.status === 'HIT';
  const partial = ctx.stream && ctx.hookState[OUTPUT_TEXT] !== undefined;
  const status = outcome.complete ? 'success' : partial && outcome.status !== 200 ? 'incomplete' : 'error';
  // Nothing billed (an error before any answer) costs 0 for a priced model, unknown otherwise.
  const cost = final.costUsd ?? (final.model && !usage ? 0 : null);
  const prompt = ctx.hookState.prompt as { name?: string; version?: number } | undefined;
  return {
    timestamp: new Date().toISOString(),
    request_id: ctx.requestId,
    user_id: ctx.principal?.userId ?? 'anonymous',
    api_key_id: ctx.principal?.keyId ?? null,
    model: ctx.deployment?.model ?? ctx.route?.deployments[0]?.model ?? ctx.model ?? 'unknown',
    provider: ctx.deployment?.provider ?? ctx.route?.deployments[0]?.provider ?? null,
    input_tokens: usage?.prompt_tokens ?? 0,
    output_tokens: usage?.completion_tokens ?? 0,
    cached_input_tokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    cost_usd: cost === null ? null : formatUsd(cost),
    cached: hit,
    cache_type: hit ? ctx.cache.type : null,
    saved_usd: formatUsd(final.savedUsd),
    latency_ms: Math.round(performance.now() - ctx.startedAt),
    status,
    http_status: outcome.status,
    estimated: ctx.usageEstimated,
    stream: ctx.stream,
    prompt_name: typeof prompt?.name === 'string' ? prompt.name : null,
    prompt_version: typeof prompt?.version === 'number' ? prompt.version : null,
  };
}

/**
 * Wraps the pipeline so usage is always known: non-stream answers without usage are counted locally before
 * the response (so X-Cost is exact or marked estimated), and stream text is kept (bounded) for a local
 * count when the upstream sends no usage chunk.
 */
function withUsageCapture(inner: ChatPipeline, accountant: Accountant): ChatPipeline {
  return {
    async complete(ctx, req) {
      const answer = await inner.complete(ctx, req);
      if (!ctx.usage) {
        const text = answer.choices.map((c) => c.message?.content ?? '').join('');
        ctx.hookState[OUTPUT_TEXT] = { text, overflow: 0 } satisfies CapturedOutput;
        ctx.usage = await accountant.estimate(ctx);
        ctx.usageEstimated = true;
      }
      return answer;
    },
    async embed(ctx, req) {
      const answer = await inner.embed(ctx, req);
      if (!ctx.usage) {
        ctx.usage = await accountant.estimate(ctx);
        ctx.usageEstimated = true;
      }
      return answer;
    },
    async openStream(ctx, req) {
      const opened = await inner.openStream(ctx, req);
      const captured: CapturedOutput = { text: '', overflow: 0 };
      ctx.hookState[OUTPUT_TEXT] = captured;
      const capture = (chunk: ChatCompletionChunk) => {
        for (const choice of chunk.choices) {
          const piece = choice.delta?.content;
          if (!piece) continue;
          if (captured.text.length < MAX_OUTPUT_TEXT) captured.text += piece;
          else captured.overflow += piece.length;
        }
      };
      for (const chunk of opened.head) capture(chunk);
      const rest: AsyncIterator<ChatCompletionChunk> = {
        async next() {
          const next = await opened.rest.next();
          if (!next.done) capture(next.value);
          return next;
        },
      };
      return { head: opened.head, rest, close: (done) => opened.close(done) } satisfies OpenedStream;
    },
  };
}
