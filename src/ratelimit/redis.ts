/**
 * Token buckets in Redis, shared by every instance. One Lua script does the whole check atomically and
 * takes the time from Redis (`TIME`), so instances whose clocks disagree still enforce one limit. The
 * script is registered with ioredis `defineCommand`: sent by EVALSHA, reloaded by EVAL on NOSCRIPT.
 *
 * Keys: `<prefix>rl:{<principal>}:r` (requests) and `…:t` (LLM tokens); with tenancy (DESIGN §7) the
 * principal is the request's hash tag (`o:<org>`, `t:<team>`, `k:<key>`) and the buckets of every level
 * sit under it (`rl:{o:org_1}:team:team_2:r`, …), so one script call checks and charges all levels at once,
 * all or nothing, in one Cluster slot. The hash tag keeps every bucket of one admission in one Cluster slot
 * (src/stores/redis-keys.ts, decision 0099). A bucket expires (PEXPIRE) once it would be full again,
 * but never sooner than `BUCKET_MIN_TTL_MS` (25 h): a missing key is a full bucket, so an idle principal
 * costs one small hash for a day. The floor keeps every bucket's TTL above any cache entry's (at most
 * `cache.max_ttl_seconds`, 24 h by default), so under `maxmemory-policy volatile-ttl` Redis evicts cache
 * entries first and a full cache never starves the limits (decision 0086).
 */
import type { RedisStore } from '../stores/redis.js';
import { rateLimitKey } from '../stores/redis-keys.js';
import type { BucketSpec, RateLimiter, TakeMode, TakeResult } from './bucket.js';

/** Shortest TTL of a bucket key: longer than the longest default cache TTL (24 h). */
export const BUCKET_MIN_TTL_MS = 25 * 3_600_000;

/** KEYS[i]: bucket hash {t, ts}; ARGV[1]: mode; ARGV[3i-1 .. 3i+1]: rate per ms, capacity, cost. */
export const TOKEN_BUCKET_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local mode = ARGV[1]
local n = #KEYS
local tokens = {}
local allowed = 1
for i = 1, n do
  local rate = tonumber(ARGV[3 * i - 1])
  local cap = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local s = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tk = tonumber(s[1])
  local ts = tonumber(s[2])
  if tk == nil or ts == nil then
    tk = cap
  elseif now > ts then
    tk = math.min(cap, tk + (now - ts) * rate)
  end
  tokens[i] = tk
  if mode == 'take' and tk < cost then allowed = 0 end
end
local out = { allowed }
for i = 1, n do
  local rate = tonumber(ARGV[3 * i - 1])
  local cap = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local tk = tokens[i]
  if mode ~= 'peek' and allowed == 1 then
    tk = math.min(cap, tk - cost)
    redis.call('HSET', KEYS[i], 't', tostring(tk), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.max(math.ceil((cap - tk) / rate) + 1000, ${BUCKET_MIN_TTL_MS}))
  end
  local retry = 0
  if allowed == 0 then retry = math.max(1, math.ceil(math.max(0, cost - tk) / rate)) end
  out[#out + 1] = math.floor(tk * 1000)
  out[#out + 1] = retry
  out[#out + 1] = math.max(0, math.ceil((cap - tk) / rate))
end
return out
`;

type ScriptClient = {
  gwTokenBucket(numKeys: number, ...args: Array<string | number>): Promise<number[]>;
};

/** @example const limiter = new RedisRateLimiter(services.redis); */
export class RedisRateLimiter implements RateLimiter {
  readonly backend = 'redis' as const;
  readonly #store: RedisStore;

  constructor(store: RedisStore) {
    this.#store = store;
    if (!('gwTokenBucket' in store.client))
      store.client.defineCommand('gwTokenBucket', { lua: TOKEN_BUCKET_LUA });
  }

  /** Redis key of one bucket (exported for tests and the docs). */
  key(principal: string, name: string): string {
    return rateLimitKey(this.#store.keyPrefix, principal, name);
  }

  async take(principal: string, specs: readonly BucketSpec[], mode: TakeMode): Promise<TakeResult> {
    const args: Array<string | number> = specs.map((s) => this.key(principal, s.name));
    args.push(mode);
    for (const s of specs) args.push(s.ratePerMs, s.capacity, s.cost);
    const out = await this.#store.run((client) =>
      (client as unknown as ScriptClient).gwTokenBucket(specs.length, ...args),
    );
    return {
      allowed: out[0] === 1,
      buckets: specs.map((_, i) => ({
        tokens: (out[1 + 3 * i] as number) / 1000,
        retryAfterMs: out[2 + 3 * i] as number,
        resetMs: out[3 + 3 * i] as number,
      })),
    };
  }
}
