/**
 * Cost accounting and budgets as gateway features (DESIGN §7, §8):
 *
 * - `budgets`: an admit stage that reserves the worst-case cost before the call, and a settle step that
 *   adjusts the reservation to the real cost (see budgets.ts).
 * - `accounting`: the `price` stage (a cached stream is marked free before its headers go out), the cost
 *   settle step (final usage and cost; `X-Cost` as a header on JSON answers, as a final `: X-Cost: …` SSE
 *   comment on streams), the record step (one usage record per request that reached an upstream or the
 *   cache, and the daily cost alert), and `/admin/costs/*`.
 *
 * @example
 * const { budgets, accounting, priceOf } = createAccountingFeatures(slice, deps);
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isoNow } from '../core/clock.js';
import { type RequestContext, requestedModel, servingDeployment } from '../core/context.js';
import type { Feature } from '../core/feature.js';
import { type SettleStep, type Stage, stage } from '../core/stage.js';
import { blockedByGuardrail, findingsJson } from '../guardrails/findings.js';
import { PROMPT_SERVED } from '../prompts/served.js';
import type { FeatureDeps } from '../stores/deps.js';
import { startChildSpan } from '../telemetry/tracing.js';
import { DailyCostAlert } from './alerts.js';
import { FallbackBudgetStore } from './budget-fallback.js';
import { rollupSeeder } from './budget-seed.js';
import { MemoryBudgetStore } from './budget-store.js';
import { type BudgetSettings, createBudgetStages } from './budgets.js';
import { Accountant, formatUsd } from './cost.js';
import { type ModelPrice, PriceTable } from './pricing.js';
import { type UsageRecord, UsageRecorder } from './recorder.js';
import { costRoutes, readyDatabase } from './reports.js';
import { requestLogRoute } from './request-log.js';
import { spendRoutes } from './spend.js';
import { statsRoute } from './stats.js';
import { UsageMaintenance } from './usage-maintenance.js';
import { warmUpUsageWriter } from './writer-warmup.js';

/** What accounting and budgets read of the configuration. */
export interface AccountingConfigSlice {
  accounting: {
    enabled: boolean;
    spool_dir: string | null;
    batch_size: number;
    flush_interval_ms: number;
    write_timeout_ms: number;
    close_timeout_ms: number;
    max_queue: number;
    recheck_interval_ms: number;
    daily_alert_threshold_usd: number | null;
    alert_webhook_url: string | null;
    alert_webhook_timeout_ms: number;
    /** Partition maintenance (usage-maintenance.ts); absent = defaults (keep all, 3 days ahead, hourly). */
    retention_days?: number | null;
    partitions_ahead_days?: number;
    maintenance_interval_ms?: number;
  };
  /** `outage_share`: see budget-fallback.ts (default 0.1). */
  budgets: BudgetSettings & { outage_share?: number };
  pricing: { models: ConstructorParameters<typeof PriceTable>[0] };
  /** Where PGlite keeps its data (the spool goes next to it). */
  databaseDataDir: string;
  redisKeyPrefix: string;
}

export interface BudgetsFeature extends Feature {
  /** Reserves before the call (place it after the rate limiter). */
  readonly admit: Stage;
  readonly settle: SettleStep;
}

export interface AccountingFeature extends Feature {
  readonly price: Stage;
  /** Final usage and cost: the one writer of `ctx.usage` and `ctx.costUsd`. */
  readonly cost: SettleStep;
  /** The usage record and the daily cost alert. */
  readonly record: SettleStep;
}

export interface AccountingFeatures {
  budgets: BudgetsFeature;
  accounting: AccountingFeature;
  /** USD per 1M tokens of a model (built-in table + `pricing.models`), for the router's `cost` strategy. */
  priceOf: (model: string, provider: string) => ModelPrice | null;
}

/** The budget feature and the accounting feature, sharing one pricing table. */
export function createAccountingFeatures(
  slice: AccountingConfigSlice,
  deps: FeatureDeps,
): AccountingFeatures {
  const { logger, metrics, redis, clock } = deps;
  const accountant = new Accountant(
    new PriceTable(slice.pricing.models),
    { metrics, logger },
    { defaultMaxOutputTokens: slice.budgets.default_max_output_tokens },
  );
  const budgetStages = createBudgetStages({
    settings: slice.budgets,
    // With Redis, the store bounds its own calls and decides per instance while Redis is unavailable.
    store: redis
      ? new FallbackBudgetStore({
          redis,
          outageShare: slice.budgets.outage_share ?? 0.1,
          metrics,
          logger,
          now: () => clock.wallNow(),
          seeded: slice.accounting.enabled,
        })
      : new MemoryBudgetStore(),
    accountant,
    metrics,
    logger,
    redis: null,
    keyPrefix: slice.redisKeyPrefix,
    now: () => clock.wallNow(),
    // Counters Redis (or a restarted process) lost are seeded from the usage rollups (decision 0145).
    seeder: slice.accounting.enabled ? rollupSeeder(() => deps.database()) : null,
  });
  return {
    budgets: { name: 'budgets', ...budgetStages },
    accounting: createAccountingFeature(slice, deps, accountant),
    priceOf: (model, provider) => accountant.prices.priceOf(model, provider),
  };
}

/** Where spool files go: configured, next to the PGlite data directory, or a temp dir for memory://. */
function spoolDirOf(slice: AccountingConfigSlice): string {
  if (slice.accounting.spool_dir) return slice.accounting.spool_dir;
  if (slice.databaseDataDir === 'memory://') return mkdtempSync(join(tmpdir(), 'llmgw-spool-'));
  return join(dirname(slice.databaseDataDir), 'spool');
}

function createAccountingFeature(
  slice: AccountingConfigSlice,
  deps: FeatureDeps,
  accountant: Accountant,
): AccountingFeature {
  const { logger, metrics, redis, clock } = deps;
  const settings = slice.accounting;
  const recorder = settings.enabled
    ? new UsageRecorder({
        database: () => deps.database(),
        spoolDir: spoolDirOf(slice),
        batchSize: settings.batch_size,
        flushIntervalMs: settings.flush_interval_ms,
        maxQueue: settings.max_queue,
        recheckIntervalMs: settings.recheck_interval_ms,
        writeTimeoutMs: settings.write_timeout_ms,
        closeTimeoutMs: settings.close_timeout_ms,
        logger,
        metrics,
        clock,
      })
    : null;
  const maintenance = recorder
    ? new UsageMaintenance({
        database: () => deps.database(),
        retentionDays: settings.retention_days ?? null,
        aheadDays: settings.partitions_ahead_days ?? 3,
        intervalMs: settings.maintenance_interval_ms ?? 3_600_000,
        clock,
        logger,
        metrics,
      })
    : null;
  maintenance?.start();
  const alert = new DailyCostAlert({
    thresholdUsd: settings.daily_alert_threshold_usd,
    webhookUrl: settings.alert_webhook_url,
    webhookTimeoutMs: settings.alert_webhook_timeout_ms,
    redis,
    keyPrefix: slice.redisKeyPrefix,
    logger,
    metrics,
    now: () => clock.wallNow(),
  });

  return {
    name: 'accounting',
    // A cached stream is free, and its headers go out before it ends: say so up front.
    price: stage('price', (ctx, next) =>
      next(ctx).then((result) => {
        if (result.kind === 'stream' && ctx.cache.status === 'HIT')
          ctx.responseHeaders['x-cost'] = formatUsd(0);
        return result;
      }),
    ),
    cost: {
      name: 'cost',
      settle(ctx) {
        const span = startChildSpan(ctx, 'cost.calculate');
        const done = () => {
          // An unknown cost (a refused request, an unpriced model) is left out, never a stand-in amount.
          const estimated = ctx.usageEstimated;
          span.setAttributes(
            ctx.costUsd === null
              ? { 'gateway.usage_estimated': estimated }
              : { 'gateway.cost_usd': ctx.costUsd, 'gateway.usage_estimated': estimated },
          );
          span.end();
          if (ctx.costUsd === null || ctx.end?.complete !== true) return;
          if (ctx.request?.stream === true) {
            if (ctx.cache.status !== 'HIT') ctx.trailers.push(`X-Cost: ${formatUsd(ctx.costUsd)}`);
          } else {
            ctx.responseHeaders['x-cost'] = formatUsd(ctx.costUsd);
          }
        };
        // Synchronous unless usage must be counted with the tokenizer.
        const pending = accountant.settle(ctx);
        if (pending) return pending.then(done);
        done();
      },
    },
    record: {
      name: 'usage',
      settle(ctx) {
        const reachedUpstream = ctx.upstream.attempts > 0 || ctx.cache.status === 'HIT';
        // A request a guardrail blocked is recorded too (DESIGN §17), though nothing was spent.
        if (!reachedUpstream && !blockedByGuardrail(ctx)) return;
        // The span covers handing the record to the batching writer; the database write happens later.
        const span = startChildSpan(ctx, 'cost.record');
        if (ctx.costUsd) void alert.add(ctx.costUsd);
        recorder?.record(toRecord(ctx, isoNow(clock), clock.now()));
        span.end();
      },
    },
    routes: [
      ...costRoutes({ database: () => deps.database(), now: () => clock.wallNow() }),
      requestLogRoute({ ready: readyDatabase(() => deps.database()), now: () => clock.wallNow() }),
      statsRoute({ ready: readyDatabase(() => deps.database()), now: () => clock.wallNow() }),
      ...spendRoutes({ database: () => deps.database(), now: () => clock.wallNow() }),
    ],
    // Before ready: the writer's statement once, rolled back (writer-warmup.ts).
    async ready() {
      if (recorder) await warmUpUsageWriter(deps.database(), isoNow(clock), logger);
    },
    async close() {
      await maintenance?.close();
      await recorder?.close();
    },
  };
}

/** The usage record of a settled request (`timestamp`: ISO wall time; `now`: the clock's monotonic now). */
export function toRecord(ctx: RequestContext, timestamp: string, now: number): UsageRecord {
  const usage = ctx.usage;
  const end = ctx.end ?? { status: 500, complete: false };
  const hit = ctx.cache.status === 'HIT';
  const partial = ctx.request?.stream === true && ctx.outcome !== null;
  const status = end.complete ? 'success' : partial && end.status !== 200 ? 'incomplete' : 'error';
  const deployment = servingDeployment(ctx) ?? ctx.route?.deployments[0] ?? null;
  const served = PROMPT_SERVED.get(ctx);
  return {
    timestamp,
    request_id: ctx.requestId,
    user_id: ctx.principal?.userId ?? 'anonymous',
    api_key_id: ctx.principal?.keyId ?? null,
    model: deployment?.model ?? requestedModel(ctx) ?? 'unknown',
    provider: deployment?.provider ?? null,
    input_tokens: usage?.prompt_tokens ?? 0,
    output_tokens: usage?.completion_tokens ?? 0,
    cached_input_tokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    cost_usd: ctx.costUsd === null ? null : formatUsd(ctx.costUsd),
    cached: hit,
    cache_type: hit ? ctx.cache.type : null,
    saved_usd: formatUsd(ctx.savedUsd),
    latency_ms: Math.round(now - ctx.startedAt),
    status,
    http_status: end.status,
    estimated: ctx.usageEstimated,
    stream: ctx.request?.stream === true,
    // Prompts (DESIGN §12): `prompt_name` holds the prompt id too (the column predates prompt ids).
    prompt_name: served?.promptId ?? null,
    prompt_version: served?.promptVersion ?? null,
    prompt_id: served?.promptId ?? null,
    experiment_id: served?.experimentId ?? null,
    variant: served?.variant ?? null,
    guardrails: findingsJson(ctx),
    client_request_id: ctx.clientRequestId,
    endpoint: ctx.endpoint,
    route: ctx.route?.name ?? requestedModel(ctx),
    org_id: ctx.principal?.orgId ?? null,
    team_id: ctx.principal?.teamId ?? null,
    tags: ctx.request?.tags && ctx.request.tags.length > 0 ? ctx.request.tags : null,
  };
}
