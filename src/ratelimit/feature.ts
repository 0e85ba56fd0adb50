/**
 * The rate-limit feature (DESIGN §7): a token bucket per principal (requests per minute, and optionally LLM
 * tokens per minute), checked in `admit` before the cache and any provider call.
 *
 * - Allowed: `X-RateLimit-Limit` (bucket capacity), `X-RateLimit-Remaining` (whole requests left) and
 *   `X-RateLimit-Reset` (seconds until the bucket is full again) are set on the response, success or error,
 *   streams included.
 * - Denied: 429 `rate_limit_exceeded` with `Retry-After` (whole seconds, at least 1) and the same headers.
 * - The token bucket is charged the estimated prompt tokens in `admit` and settled with the real usage in
 *   `finish` (refund or extra charge; the extra charge may drive the bucket below zero).
 * - Redis down, slower than its deadline or skipped by its breaker: the per-instance fallback limiter
 *   decides (fallback.ts; never unlimited), counted in `llm_redis_fallback_total{feature="ratelimit"}` and
 *   `llm_dependency_errors_total{dependency="redis"}`. Only a failure of the limiter itself lets the request
 *   through (`llm_rate_limit_checks_total{result="error"}`).
 */

import type { Principal } from '../auth/principal.js';
import type { RateLimitConfig } from '../config/schema.js';
import { type RequestContext, Slot } from '../core/context.js';
import { GatewayRateLimitError } from '../core/errors.js';
import type { AdminRoute, Feature } from '../core/feature.js';
import { type SettleStep, type Stage, stage } from '../core/stage.js';
import type { FeatureDeps } from '../stores/deps.js';
import { startChildSpan } from '../telemetry/tracing.js';
import { rateLimitStateRoute } from './admin-route.js';
import { type BucketSpec, type RateLimiter, resetDuration, type TakeResult } from './bucket.js';
import { FallbackRateLimiter, type FallbackTakeResult } from './fallback.js';
import { MemoryRateLimiter } from './memory.js';
import { RedisRateLimiter } from './redis.js';
import { type TierLimits, tierLimits } from './tiers.js';

const HOOK = 'ratelimit';
const ADMITTED = new Slot<AdmitState>('ratelimit.admitted');
const MINUTE = 60_000;

export { type TierLimits, tierLimits } from './tiers.js';

/** Rough prompt-token estimate for the token bucket: ~4 characters per token of the request's text. */
export function estimatePromptTokens(ctx: RequestContext): number {
  const body = ctx.request?.body as { messages?: unknown; input?: unknown } | undefined;
  if (!body) return 1;
  const text = JSON.stringify(body.messages ?? body.input ?? '');
  return Math.max(1, Math.ceil(text.length / 4));
}

interface AdmitState {
  limits: TierLimits;
  /** Tokens charged to the token buckets in admit (0 = no token bucket or the check failed open). */
  charged: number;
  /** The principal tag and the token buckets (tier and levels) charged, settled with the real usage. */
  tag: string;
  tokenSpecs: BucketSpec[];
}

export interface RateLimitOptions {
  /** Tier of a user id, for the admin view (from the key store). */
  tierOf?(userId: string): string | undefined;
  /** The principal of an active key by its id, for the admin view of its level buckets (the key store). */
  principalOfKey?(keyId: string): Principal | undefined;
  /** Overrides the backend (tests). */
  limiter?: RateLimiter;
}

export interface RateLimitFeature extends Feature {
  readonly limiter: RateLimiter;
  /** Admit stage: takes a request from the caller's bucket (429 when empty); null when limits are off. */
  readonly admit: Stage | null;
  /** Settles the token bucket with the real usage. */
  readonly settle: SettleStep;
}

/** @example const rateLimit = createRateLimitFeature(config.rate_limit, deps, { tierOf: (u) => keys.tierOf(u) }); */
export function createRateLimitFeature(
  config: RateLimitConfig,
  deps: FeatureDeps,
  options: RateLimitOptions = {},
): RateLimitFeature {
  const { metrics, redis } = deps;
  const useRedis = config.backend === 'redis' || (config.backend === 'auto' && redis !== null);
  if (config.backend === 'redis' && !redis) {
    throw new Error(
      'rate_limit.backend is "redis" but no Redis is configured (REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS)',
    );
  }
  const memory = () =>
    new MemoryRateLimiter({ maxBuckets: config.max_memory_buckets, now: () => deps.clock.now() });
  const limiter =
    options.limiter ??
    (useRedis && redis
      ? new FallbackRateLimiter({
          primary: new RedisRateLimiter(redis),
          redis,
          local: memory(),
          instances: config.fallback_instances,
        })
      : memory());

  function specs(limits: TierLimits, tokenCost: number | null, prefix = ''): BucketSpec[] {
    const list: BucketSpec[] = [
      { name: `${prefix}r`, ratePerMs: limits.ratePerMinute / MINUTE, capacity: limits.capacity, cost: 1 },
    ];
    if (limits.tokensPerMinute !== null && limits.tokenCapacity !== null && tokenCost !== null) {
      list.push({
        name: `${prefix}t`,
        ratePerMs: limits.tokensPerMinute / MINUTE,
        capacity: limits.tokenCapacity,
        cost: tokenCost,
      });
    }
    return list;
  }

  /**
   * Every bucket a request must pass (DESIGN §7): the tier's (when rate limits are on) and each tenancy
   * level's rpm/tpm, all under the request's tag so one atomic call checks and charges them together.
   */
  function requestSpecs(ctx: RequestContext, limits: TierLimits): { tag: string; list: BucketSpec[] } {
    const principal = ctx.principal as NonNullable<RequestContext['principal']>;
    return principalSpecs(principal, limits, estimatePromptTokens(ctx));
  }

  /** The buckets of a principal (and `estimate` prompt tokens): the admission's and the admin view's. */
  function principalSpecs(
    principal: Principal,
    limits: TierLimits,
    estimate: number,
  ): { tag: string; list: BucketSpec[] } {
    const tag = principal.tag ?? principal.userId;
    const list: BucketSpec[] = [];
    if (config.enabled) {
      const tokenCost = limits.tokenCapacity === null ? null : Math.min(estimate, limits.tokenCapacity);
      list.push(...specs(limits, tokenCost, tag === principal.userId ? '' : `u:${principal.userId}:`));
    }
    for (const l of principal.levels ?? []) {
      const { rpm, tpm } = l.limits;
      if (rpm !== null) {
        list.push({
          name: `${l.level}:${l.id}:r`,
          level: l.level,
          ratePerMs: rpm / MINUTE,
          capacity: rpm,
          cost: 1,
        });
      }
      if (tpm !== null) {
        const cost = Math.min(estimate, tpm);
        list.push({
          name: `${l.level}:${l.id}:t`,
          level: l.level,
          ratePerMs: tpm / MINUTE,
          capacity: tpm,
          cost,
        });
      }
    }
    return { tag, list };
  }

  /**
   * `X-RateLimit-*` of the tightest request bucket the request passed through (the tier's, or an org, team,
   * key or user rpm limit): the one with the fewest requests left, so the headers describe the limit the
   * caller meets first — the one that refused it, on a 429.
   */
  function setHeaders(ctx: RequestContext, list: BucketSpec[], result: TakeResult): void {
    let requests = -1;
    let tokens = -1;
    for (let i = 0; i < list.length; i++) {
      const bucket = result.buckets[i];
      if (!bucket) continue;
      // Request buckets: `r`, `u:<user>:r`, `<level>:<id>:r`; token buckets end with `t`.
      if (list[i]!.name.endsWith('r')) {
        if (requests < 0 || bucket.tokens < result.buckets[requests]!.tokens) requests = i;
      } else if (tokens < 0 || bucket.tokens < result.buckets[tokens]!.tokens) tokens = i;
    }
    const headers = ctx.responseHeaders;
    if (requests >= 0) {
      const bucket = result.buckets[requests]!;
      const limit = String(list[requests]!.capacity);
      const remaining = String(Math.max(0, Math.floor(bucket.tokens)));
      headers['x-ratelimit-limit'] = limit;
      headers['x-ratelimit-remaining'] = remaining;
      headers['x-ratelimit-reset'] = String(Math.ceil(bucket.resetMs / 1000));
      // OpenAI's names too, which its cookbook's and other clients' throttles read (reset as a duration).
      headers['x-ratelimit-limit-requests'] = limit;
      headers['x-ratelimit-remaining-requests'] = remaining;
      headers['x-ratelimit-reset-requests'] = resetDuration(bucket.resetMs);
    }
    if (tokens >= 0) {
      const bucket = result.buckets[tokens]!;
      headers['x-ratelimit-limit-tokens'] = String(list[tokens]!.capacity);
      headers['x-ratelimit-remaining-tokens'] = String(Math.max(0, Math.floor(bucket.tokens)));
      headers['x-ratelimit-reset-tokens'] = resetDuration(bucket.resetMs);
    }
  }

  function failed(operation: string, err: unknown): void {
    metrics.rateLimitChecks.inc({ result: 'error' });
    if (redis && limiter.backend === 'redis') redis.failed(operation, err);
  }

  // The memory limiter decides synchronously: then the stage goes on to `next` without a promise of its own.
  const takeSync = limiter instanceof MemoryRateLimiter ? limiter.takeSync.bind(limiter) : null;

  const admit = stage('ratelimit', (ctx, next) => {
    const pending = take(ctx);
    return pending ? pending.then(() => next(ctx)) : next(ctx);
  });

  /** Takes from the request's buckets; a promise only when the limiter answers asynchronously (Redis). */
  function take(ctx: RequestContext): Promise<void> | undefined {
    const principal = ctx.principal;
    if (!principal) return undefined;
    const limits = tierLimits(config, principal.tier);
    const { tag, list } = requestSpecs(ctx, limits);
    // Rate limits off and no level with an rpm/tpm limit: nothing to check.
    if (list.length === 0) return undefined;
    const tokenSpecs = list.filter(
      (s) => s.name.endsWith('t') && s.name.endsWith(':t') === s.name.includes(':'),
    );
    const state: AdmitState = { limits, charged: 0, tag, tokenSpecs };
    ADMITTED.set(ctx, state);
    const span = startChildSpan(ctx, 'rate_limit.check', {
      'gateway.rate_limit.backend': limiter.backend,
      'gateway.rate_limit.tier': limits.tier,
    });
    // Fail open: the limit store is an accelerator, never a reason to refuse a request.
    const failOpen = (err: unknown): void => {
      span.end(err);
      failed('ratelimit.take', err);
      if (config.enabled) ctx.responseHeaders['x-ratelimit-limit'] = String(limits.capacity);
    };
    let taken: TakeResult | Promise<TakeResult>;
    try {
      taken = takeSync ? takeSync(tag, list, 'take') : limiter.take(tag, list, 'take');
    } catch (err) {
      failOpen(err);
      return undefined;
    }
    if (taken instanceof Promise) {
      return taken.then((result) => {
        span.end();
        admitted(ctx, principal, state, list, result);
      }, failOpen);
    }
    span.end();
    admitted(ctx, principal, state, list, taken);
    return undefined;
  }

  /** The limiter answered: headers, metrics, and a 429 when a bucket refused. */
  function admitted(
    ctx: RequestContext,
    principal: Principal,
    state: AdmitState,
    list: BucketSpec[],
    result: TakeResult,
  ): void {
    const { limits, tokenSpecs } = state;
    setHeaders(ctx, list, result);
    if ((result as FallbackTakeResult).fallback) {
      metrics.redisFallback.inc({ feature: 'ratelimit', result: result.allowed ? 'allowed' : 'refused' });
    }
    if (!result.allowed) refuse(principal.userId, limits, list, result);
    metrics.rateLimitChecks.inc({ result: 'allowed' });
    state.charged = tokenSpecs[0]?.cost ?? 0;
  }

  /** 429 naming the first bucket that refused: the tier's, or a level's (`error.param` = the level). */
  function refuse(userId: string, limits: TierLimits, list: BucketSpec[], result: TakeResult): never {
    metrics.rateLimitChecks.inc({ result: 'limited' });
    metrics.rateLimitExceeded.inc({ tier: limits.tier });
    const retryAfterMs = Math.max(...result.buckets.map((b) => b.retryAfterMs), 1);
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    const index = list.findIndex((s, i) => (result.buckets[i]?.tokens ?? 0) < s.cost);
    const hit = list[index];
    if (hit?.level) {
      const kind = hit.name.endsWith(':r')
        ? `${hit.capacity} requests per minute`
        : `${hit.capacity} tokens per minute`;
      const id = hit.name.slice(hit.level.length + 1, -2);
      throw new GatewayRateLimitError(
        `Rate limit exceeded at the ${hit.level} level (${hit.level} "${id}": ${kind}). Retry after ${seconds} s.`,
        retryAfterMs,
        'rate_limit_exceeded',
        hit.level,
      );
    }
    const which =
      result.buckets[0] && result.buckets[0].retryAfterMs > 0 && result.buckets[0].tokens < 1
        ? `${limits.capacity} requests burst, ${limits.ratePerMinute} per minute`
        : `${limits.tokensPerMinute} tokens per minute`;
    throw new GatewayRateLimitError(
      `Rate limit exceeded for user "${userId}" (tier ${limits.tier}: ${which}). Retry after ${seconds} s.`,
      retryAfterMs,
      'rate_limit_exceeded',
    );
  }

  const settle: SettleStep = {
    name: 'ratelimit',
    settle(ctx) {
      const state = ADMITTED.get(ctx);
      if (!state || state.charged === 0 || state.tokenSpecs.length === 0) return;
      const usage = ctx.usage;
      const real =
        ctx.cache.status === 'HIT'
          ? 0
          : (usage?.total_tokens ?? (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
      // Each token bucket was charged its own estimate (capped at its capacity): settle each to the real use.
      const tokens = state.tokenSpecs.map((s) => ({ ...s, cost: real - s.cost })).filter((s) => s.cost !== 0);
      if (tokens.length === 0) return;
      // Off the response path: a failure only loses this settlement.
      limiter.take(state.tag, tokens, 'force').catch((err: unknown) => failed('ratelimit.settle', err));
    },
  };

  const routes: AdminRoute[] = [
    rateLimitStateRoute({
      config,
      limiter,
      specs,
      principalSpecs,
      tierOf: options.tierOf,
      principalOfKey: options.principalOfKey,
      failed,
    }),
  ];

  return {
    name: HOOK,
    limiter,
    // Always there: tenancy levels' rpm/tpm limits hold even with the tier limits off.
    admit,
    settle,
    routes,
  };
}
