/**
 * `GET /admin/ratelimit/:user_id` (global admin): the rate-limit state of a user — its tier's request and
 * token buckets — and, with `?key_id=` (plus `&end_user=` for a key that names end users), every bucket a
 * request with that key would pass: the tier's under the key's hash tag and each tenancy level's rpm/tpm
 * (org, team, key, end user; DESIGN §7). Reading never charges a bucket.
 */
import { Type as T } from '@sinclair/typebox';
import type { Principal } from '../auth/principal.js';
import type { RateLimitConfig } from '../config/schema.js';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import type { AdminRoute } from '../core/feature.js';
import { hasLimits } from '../tenancy/limits.js';
import type { BucketSpec, BucketState, RateLimiter, TakeResult } from './bucket.js';
import type { FallbackTakeResult } from './fallback.js';
import { type TierLimits, tierLimits } from './tiers.js';

export interface RateLimitStateDeps {
  config: RateLimitConfig;
  limiter: RateLimiter;
  specs(limits: TierLimits, tokenCost: number | null): BucketSpec[];
  principalSpecs(
    principal: Principal,
    limits: TierLimits,
    estimate: number,
  ): { tag: string; list: BucketSpec[] };
  tierOf?: ((userId: string) => string | undefined) | undefined;
  principalOfKey?: ((keyId: string) => Principal | undefined) | undefined;
  failed(operation: string, err: unknown): void;
}

const END_USER = /^[\w.@:+-]{1,128}$/;

export function rateLimitStateRoute(deps: RateLimitStateDeps): AdminRoute {
  const { config, limiter } = deps;
  async function peek(tag: string, list: BucketSpec[]): Promise<TakeResult> {
    try {
      return await limiter.take(tag, list, 'peek');
    } catch (err) {
      deps.failed('ratelimit.peek', err);
      throw new ServiceUnavailableError('The rate-limit store (Redis) is not answering; retry shortly.');
    }
  }
  const bucketView = (b: BucketState | undefined, s: BucketSpec) => ({
    tokens: Math.floor((b?.tokens ?? s.capacity) * 1000) / 1000,
    capacity: s.capacity,
    refill_rate_per_minute: Math.round(s.ratePerMs * 60_000 * 1000) / 1000,
    seconds_until_full: Math.ceil((b?.resetMs ?? 0) / 1000),
  });

  /**
   * Every bucket a request with a key (and end user) passes: the level buckets (`[{level, id, rpm, tpm}]`)
   * and the tier's, at the key's own tier, under its hash tag (a team's or organization's) — the buckets its
   * requests charge, not the user's own tag.
   */
  async function ofKey(keyId: string, endUser: string | undefined, query: { tier?: string }) {
    let principal = deps.principalOfKey?.(keyId);
    if (!principal) throw new NotFoundError(`No active key "${keyId}" on this instance.`);
    if (endUser !== undefined) {
      if (!principal.endUsers) throw new ValidationError('This key does not name end users.', 'end_user');
      if (!END_USER.test(endUser))
        throw new ValidationError('end_user is not a valid end-user name.', 'end_user');
      const own = principal.endUsers;
      principal = {
        ...principal,
        userId: endUser,
        levels: hasLimits(own)
          ? [...(principal.levels ?? []), { level: 'user', id: endUser, limits: own }]
          : principal.levels,
      };
    }
    const limits = tierLimits(config, query.tier ?? principal.tier);
    const { tag, list } = deps.principalSpecs(principal, limits, 0);
    const result = await peek(tag, list);
    const out = new Map<string, { level: string; id: string; rpm: unknown; tpm: unknown }>();
    const tier: Array<BucketState | undefined> = [];
    for (const [i, s] of list.entries()) {
      if (!s.level) {
        tier[s.name.endsWith(':t') || s.name === 't' ? 1 : 0] = result.buckets[i];
        continue;
      }
      const id = s.name.slice(s.level.length + 1, -2);
      const entry = out.get(s.name.slice(0, -2)) ?? { level: s.level, id, rpm: null, tpm: null };
      entry[s.name.endsWith(':r') ? 'rpm' : 'tpm'] = bucketView(result.buckets[i], s);
      out.set(s.name.slice(0, -2), entry);
    }
    return {
      limits,
      result: { ...result, buckets: tier },
      view: { user_id: principal.userId, hash_tag: tag, levels: [...out.values()] },
    };
  }

  return {
    method: 'GET',
    url: '/admin/ratelimit/:user_id',
    summary: "Rate-limit state of a user (its tier's buckets) and, with key_id, of every level's buckets",
    params: T.Object({ user_id: T.String({ minLength: 1, maxLength: 128, pattern: '^[\\w.@:+-]+$' }) }),
    querystring: T.Object(
      {
        tier: T.Optional(T.String({ minLength: 1, maxLength: 64 })),
        key_id: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
        end_user: T.Optional(T.String({ minLength: 1, maxLength: 128 })),
      },
      { additionalProperties: false },
    ),
    async handler(request) {
      const { user_id: userId } = request.params as { user_id: string };
      const q = request.query as { tier?: string; key_id?: string; end_user?: string };
      const keyed = q.key_id !== undefined ? await ofKey(q.key_id, q.end_user, q) : null;
      const tier = keyed?.limits.tier ?? q.tier ?? deps.tierOf?.(userId) ?? 'free';
      const limits = keyed?.limits ?? tierLimits(config, tier);
      const result = keyed?.result ?? (await peek(userId, deps.specs(limits, 0)));
      const [requests, tokens] = result.buckets;
      return {
        user_id: userId,
        tier: limits.tier === 'default' ? tier : limits.tier,
        enabled: config.enabled,
        backend: limiter.backend,
        ...((result as FallbackTakeResult).fallback ? { fallback: true } : {}),
        tokens: Math.floor((requests?.tokens ?? 0) * 1000) / 1000,
        capacity: limits.capacity,
        refill_rate_per_minute: limits.ratePerMinute,
        seconds_until_full: Math.ceil((requests?.resetMs ?? 0) / 1000),
        token_bucket: tokens
          ? {
              tokens: Math.floor(tokens.tokens),
              capacity: limits.tokenCapacity,
              refill_rate_per_minute: limits.tokensPerMinute,
              seconds_until_full: Math.ceil(tokens.resetMs / 1000),
            }
          : null,
        ...keyed?.view,
      };
    },
  };
}
