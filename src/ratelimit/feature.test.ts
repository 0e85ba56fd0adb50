import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  advance,
  chatContext,
  completion,
  recordingNext,
  samples,
  unitDeps,
} from '../../test/helpers/stage.js';
import type { Principal } from '../auth/principal.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import { GatewayRateLimitError } from '../core/errors.js';
import { GLOBAL_ADMIN, isAdminReply } from '../core/feature.js';
import { completionResult } from '../core/result.js';
import type { Stage } from '../core/stage.js';
import type { Usage } from '../providers/types.js';
import { createRateLimitFeature, estimatePromptTokens, type RateLimitFeature } from './feature.js';

// Slow refills (1 request, 1 token a minute) so the few real milliseconds a test runs change nothing.
const config = loadConfig({
  env: {},
  yamlText: `
rate_limit:
  backend: memory
  tiers:
    burst3: { rate_per_minute: 1, capacity: 3 }
    metered: { rate_per_minute: 1, capacity: 100, tokens_per_minute: 1, token_capacity: 1000 }
`,
});

const answer = () => completionResult(completion('hi'), 'upstream', null);

function principal(userId: string, tier: string): Principal {
  return { userId, keyId: null, tier, allowedModels: null };
}

function setup() {
  const clock = fakeClock();
  const deps = unitDeps(clock);
  const feature = createRateLimitFeature(config.rate_limit, deps);
  const admit = feature.admit as Stage;
  assert.ok(admit, 'rate limits are on');
  return { clock, deps, feature, admit };
}

function request(clock: ReturnType<typeof fakeClock>, who: Principal, text = 'Say hello'): RequestContext {
  const ctx = chatContext(clock, { messages: [{ role: 'user', content: text }] });
  ctx.principal = who;
  return ctx;
}

/** The token bucket of a user as `GET /admin/ratelimit/:user_id?tier=` reports it. */
async function tokenBucket(feature: RateLimitFeature, userId: string, tier: string) {
  const route = feature.routes?.find((r) => r.url === '/admin/ratelimit/:user_id');
  assert.ok(route);
  const body = await route.handler({
    params: { user_id: userId },
    query: { tier },
    body: undefined,
    id: 'r',
    ip: '::1',
    actor: GLOBAL_ADMIN,
  });
  assert.ok(!isAdminReply(body));
  return (body as { token_bucket: { tokens: number; capacity: number } | null }).token_bucket;
}

describe('rate limit: admit', () => {
  test('lets the burst through, then 429 rate_limit_exceeded with retryAfterMs; next is not called', async () => {
    const { clock, admit, deps } = setup();
    const alice = principal('alice', 'burst3');
    const { next, calls } = recordingNext(answer);
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ctx = request(clock, alice);
      await admit.run(ctx, next);
      assert.equal(ctx.responseHeaders['x-ratelimit-limit'], '3');
      remaining.push(ctx.responseHeaders['x-ratelimit-remaining'] as string);
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    assert.equal(calls.length, 3);

    const refused = request(clock, alice);
    await assert.rejects(admit.run(refused, next), (err: unknown) => {
      assert.ok(err instanceof GatewayRateLimitError);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'rate_limit_exceeded');
      // One request a minute: the next one is there in (nearly) 60 s.
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 50_000 && err.retryAfterMs <= 60_000);
      assert.match(err.message, /alice/);
      return true;
    });
    assert.equal(calls.length, 3, 'a refused request never reaches next');
    // The headers are set on the refusal too (the error response carries them).
    assert.equal(refused.responseHeaders['x-ratelimit-limit'], '3');
    assert.equal(refused.responseHeaders['x-ratelimit-remaining'], '0');
    // Seconds until the bucket is full again: 3 requests at one a minute (less the few ms the test ran).
    const reset = Number(refused.responseHeaders['x-ratelimit-reset']);
    assert.ok(reset >= 175 && reset <= 180, `x-ratelimit-reset = ${reset}`);

    const checks = await samples(deps.metrics, 'llm_rate_limit_checks_total');
    const count = (result: string) => checks.find((s) => s.labels.result === result)?.value;
    assert.deepEqual([count('allowed'), count('limited')], [3, 1]);
    const exceeded = await samples(deps.metrics, 'llm_rate_limit_exceeded_total');
    assert.deepEqual(
      exceeded.map((s) => [s.labels.tier, s.value]),
      [['burst3', 1]],
    );
  });

  test('the bucket refills with the clock: a minute later one more request passes', async () => {
    const { clock, admit } = setup();
    const alice = principal('alice', 'burst3');
    const { next, calls } = recordingNext(answer);
    for (let i = 0; i < 3; i++) await admit.run(request(clock, alice), next);
    await assert.rejects(admit.run(request(clock, alice), next), GatewayRateLimitError);
    advance(clock, 60_000);
    await admit.run(request(clock, alice), next);
    assert.equal(calls.length, 4);
    await assert.rejects(admit.run(request(clock, alice), next), GatewayRateLimitError);
  });

  test('buckets are per user: another user of the same tier still passes', async () => {
    const { clock, admit } = setup();
    const { next, calls } = recordingNext(answer);
    for (let i = 0; i < 3; i++) await admit.run(request(clock, principal('alice', 'burst3')), next);
    await assert.rejects(
      admit.run(request(clock, principal('alice', 'burst3')), next),
      GatewayRateLimitError,
    );
    const bob = request(clock, principal('bob', 'burst3'));
    await admit.run(bob, next);
    assert.equal(bob.responseHeaders['x-ratelimit-remaining'], '2');
    assert.equal(calls.length, 4);
  });

  test('an unknown tier gets the default limits', async () => {
    const { clock, admit } = setup();
    const ctx = request(clock, principal('carol', 'no-such-tier'));
    await admit.run(ctx, recordingNext(answer).next);
    assert.equal(ctx.responseHeaders['x-ratelimit-limit'], String(config.rate_limit.default_capacity));
  });

  test('no principal (never authenticated): passes without headers', async () => {
    const { clock, admit } = setup();
    const ctx = chatContext(clock);
    const { next, calls } = recordingNext(answer);
    await admit.run(ctx, next);
    assert.equal(calls.length, 1);
    assert.equal(ctx.responseHeaders['x-ratelimit-limit'], undefined);
  });

  test('X-RateLimit-* describe the tightest request bucket: a key rpm under the tier burst, also on its 429', async () => {
    const { clock, admit } = setup();
    const keyLimits = { dailyUsd: null, monthlyUsd: null, totalUsd: null, rpm: 2, tpm: null };
    const dana: Principal = {
      ...principal('dana', 'burst3'),
      keyId: 'key_d',
      levels: [{ level: 'key', id: 'key_d', limits: keyLimits }],
    };
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const ctx = request(clock, dana);
      await admit.run(ctx, recordingNext(answer).next).catch((err: unknown) => {
        assert.ok(err instanceof GatewayRateLimitError && err.param === 'key');
      });
      seen.push(
        `${ctx.responseHeaders['x-ratelimit-limit']}/${ctx.responseHeaders['x-ratelimit-remaining']}`,
      );
    }
    // The tier would say 3/2, 3/1, 3/0; the key's 2 rpm is what the caller meets first.
    assert.deepEqual(seen, ['2/1', '2/0', '2/0']);
  });

  test('rate_limit.enabled: false → level limits alone still send their headers', async () => {
    const off = loadConfig({ env: { RATE_LIMIT_ENABLED: 'false' } });
    const clock = fakeClock();
    const feature = createRateLimitFeature(off.rate_limit, unitDeps(clock));
    const keyLimits = { dailyUsd: null, monthlyUsd: null, totalUsd: null, rpm: 5, tpm: null };
    const ctx = request(clock, {
      ...principal('erin', 'free'),
      levels: [{ level: 'key', id: 'key_e', limits: keyLimits }],
    });
    await feature.admit?.run(ctx, recordingNext(answer).next);
    assert.equal(ctx.responseHeaders['x-ratelimit-limit'], '5');
    assert.equal(ctx.responseHeaders['x-ratelimit-remaining'], '4');
  });

  test('rate_limit.enabled: false → no tier limit (tenancy levels still apply: test/integration)', async () => {
    const off = loadConfig({ env: { RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_DEFAULT_CAPACITY: '1' } });
    const clock = fakeClock();
    const feature = createRateLimitFeature(off.rate_limit, unitDeps(clock));
    const alice = principal('alice', 'free');
    for (let i = 0; i < 3; i++)
      await feature.admit?.run(request(clock, alice), async () => undefined as never);
    assert.equal((feature.limiter as { size?: number }).size, 0, 'no bucket was touched');
  });
});

describe('rate limit: tokens per minute', () => {
  /** Admits one request of `text` for `who`, then settles it with `usage` (as the cost step left it). */
  async function admitAndSettle(
    s: ReturnType<typeof setup>,
    who: Principal,
    text: string,
    usage: Usage | null,
    hit = false,
  ) {
    const ctx = request(s.clock, who, text);
    await s.admit.run(ctx, recordingNext(answer).next);
    ctx.usage = usage;
    if (hit) ctx.cache.status = 'HIT';
    await s.feature.settle.settle(ctx);
    return ctx;
  }

  test('admit charges the estimated prompt; settle charges the rest of the real usage', async () => {
    const s = setup();
    const dave = principal('dave', 'metered');
    const text = 'x'.repeat(400);
    const estimated = estimatePromptTokens(request(s.clock, dave, text));
    assert.ok(estimated > 100);

    const ctx = request(s.clock, dave, text);
    await s.admit.run(ctx, recordingNext(answer).next);
    assert.equal((await tokenBucket(s.feature, 'dave', 'metered'))?.tokens, 1000 - estimated);

    ctx.usage = { prompt_tokens: 150, completion_tokens: 350, total_tokens: 500 };
    await s.feature.settle.settle(ctx);
    assert.equal((await tokenBucket(s.feature, 'dave', 'metered'))?.tokens, 500);
  });

  test('settle refunds what the estimate over-charged', async () => {
    const s = setup();
    const erin = principal('erin', 'metered');
    await admitAndSettle(s, erin, 'x'.repeat(400), {
      prompt_tokens: 20,
      completion_tokens: 10,
      total_tokens: 30,
    });
    assert.equal((await tokenBucket(s.feature, 'erin', 'metered'))?.tokens, 970);
  });

  test('a cache hit costs no tokens: the admit charge is refunded in full', async () => {
    const s = setup();
    const fay = principal('fay', 'metered');
    await admitAndSettle(
      s,
      fay,
      'x'.repeat(400),
      { prompt_tokens: 150, completion_tokens: 350, total_tokens: 500 },
      true,
    );
    assert.equal((await tokenBucket(s.feature, 'fay', 'metered'))?.tokens, 1000);
  });

  test('a request that failed without usage is refunded its estimate', async () => {
    const s = setup();
    await admitAndSettle(s, principal('gus', 'metered'), 'x'.repeat(400), null);
    assert.equal((await tokenBucket(s.feature, 'gus', 'metered'))?.tokens, 1000);
  });

  test('an empty token bucket refuses the next request with 429', async () => {
    const s = setup();
    const hal = principal('hal', 'metered');
    await admitAndSettle(s, hal, 'short', { prompt_tokens: 400, completion_tokens: 600, total_tokens: 1000 });
    assert.equal((await tokenBucket(s.feature, 'hal', 'metered'))?.tokens, 0);
    const { next, calls } = recordingNext(answer);
    await assert.rejects(s.admit.run(request(s.clock, hal, 'short'), next), (err: unknown) => {
      assert.ok(err instanceof GatewayRateLimitError);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.match(err.message, /tokens per minute/);
      return true;
    });
    assert.equal(calls.length, 0);
  });

  test('a tier without tokens_per_minute has no token bucket (settle changes nothing)', async () => {
    const s = setup();
    const ctx = await admitAndSettle(s, principal('ivy', 'burst3'), 'hi', {
      prompt_tokens: 5000,
      completion_tokens: 5000,
      total_tokens: 10000,
    });
    assert.equal(await tokenBucket(s.feature, 'ivy', 'burst3'), null);
    // The request bucket is untouched by settle: two more requests still pass.
    assert.equal(ctx.responseHeaders['x-ratelimit-remaining'], '2');
    await s.admit.run(request(s.clock, principal('ivy', 'burst3')), recordingNext(answer).next);
    await s.admit.run(request(s.clock, principal('ivy', 'burst3')), recordingNext(answer).next);
  });
});
