/** The limits of a rate-limit tier (DESIGN §7): a preset of per-user limits from `rate_limit.tiers`. */
import type { RateLimitConfig } from '../config/schema.js';

/** The limits of one tier, resolved against the defaults. */
export interface TierLimits {
  tier: string;
  ratePerMinute: number;
  capacity: number;
  tokensPerMinute: number | null;
  tokenCapacity: number | null;
}

export function tierLimits(config: RateLimitConfig, tier: string): TierLimits {
  const t = Object.hasOwn(config.tiers, tier) ? config.tiers[tier] : undefined;
  const tpm = t?.tokens_per_minute ?? null;
  return {
    tier: t ? tier : 'default',
    ratePerMinute: t?.rate_per_minute ?? config.default_rate,
    capacity: t?.capacity ?? config.default_capacity,
    tokensPerMinute: tpm,
    tokenCapacity: tpm === null ? null : (t?.token_capacity ?? Math.ceil(tpm)),
  };
}

/**
 * Whether `tier` allows no more than `ceiling` on every limit (requests per minute, burst, tokens per
 * minute, token burst; an unset token limit is no limit). Org and team admins grant tiers up to their own.
 */
export function tierWithin(config: RateLimitConfig, tier: string, ceiling: string): boolean {
  const a = tierLimits(config, tier);
  const b = tierLimits(config, ceiling);
  const most = (n: number | null) => n ?? Number.POSITIVE_INFINITY;
  return (
    a.ratePerMinute <= b.ratePerMinute &&
    a.capacity <= b.capacity &&
    most(a.tokensPerMinute) <= most(b.tokensPerMinute) &&
    most(a.tokenCapacity) <= most(b.tokenCapacity)
  );
}
