/**
 * The fault test of DESIGN §7 / decision 0086: Redis hung for 3 s (SIGSTOP) and then killed, under an
 * open-loop load of 100 requests/s against the real gateway process using Redis for rate limits, budgets
 * and the cache, in front of a fast mock upstream → no request fails, and p99 latency stays within 250 ms.
 *
 * Without the breaker every request paid the full command deadline for each Redis call it made (rate limit,
 * budget, cache lookup: ~150 ms at the 50 ms default) for as long as Redis hung, and the pile of unanswered
 * commands (and their flush when Redis died) slowed the whole process: p99 0.6–1 s, max 1.5 s here. With
 * it, a few requests pay one deadline, then Redis is skipped (nothing sent) and the per-instance fallbacks
 * decide.
 *
 * Open loop: requests are sent on schedule whether or not earlier ones answered (a closed loop would slow
 * down with the gateway and hide the latency). A failed request always fails the test.
 *
 * The machine is shared with other test runs (2 cores), and a CPU spike delays requests for reasons that
 * have nothing to do with Redis. A run passes when its p99 is within 250 ms and its median while Redis hangs
 * is below two command deadlines (the typical request does not wait on Redis). A run that misses is
 * repeated (up to 3 runs). The test fails if a run missed on a quiet machine — the event-loop delay of this
 * process (the load generator, apart from the gateway, on the same cores) stayed under 50 ms at p99 and the
 * gateway served the healthy phase before the fault with p99 ≤ 100 ms — and skips, with the numbers, only
 * if every miss happened on a machine too busy to tell (the open-loop backlog of a CPU-starved gateway
 * grows through the run whatever Redis does). A control request to the gateway itself would not do:
 * without the breaker the whole gateway process slows down.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv } from '../helpers/gateway.js';
import { type GatewayProcess, spawnGateway, stopProcess } from '../helpers/process.js';
import { requireServices, startRedisServer, uniquePrefix } from '../helpers/services.js';

const skip = await requireServices('redis');

const RATE = 100;
const HEALTHY_MS = 2_000;
const HUNG_MS = 3_000;
const KILLED_MS = 1_500;
const BOUND_MS = 250;
/** Two command deadlines (2 × 50 ms): a request waiting on a hung Redis pays at least that. */
const HUNG_P50_MS = 100;
/** Event-loop delay p99 of this process under which the machine counts as quiet. */
const QUIET_MACHINE_P99_MS = 50;

interface Sample {
  /** ms since the start of the run when the request was sent. */
  at: number;
  latencyMs: number;
  status: number;
}

interface Report {
  machine_delay_p99: number;
  healthy_p99: number;
  hung_p50: number;
  fault_p99: number;
  p99: number;
  max: number;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

/** The bound on request latency, and no Redis wait on the typical request while Redis hangs. */
const passes = (r: Report) => r.p99 <= BOUND_MS && r.hung_p50 < HUNG_P50_MS;

describe('Redis hung, then killed, under load', { skip }, () => {
  let mock: MockUpstream;
  let agent: Agent;

  before(async () => {
    mock = await MockUpstream.start({ recordRequests: false });
    agent = new Agent({ connections: 128, keepAliveTimeout: 30_000 });
  });
  after(async () => {
    await agent.close();
    await mock.close();
  });

  function send(url: string, n: number, started: number, samples: Sample[]): Promise<void> {
    const at = performance.now();
    const done = (status: number) =>
      void samples.push({ at: at - started, latencyMs: performance.now() - at, status });
    return request(`${url}/v1/chat/completions`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'x-user-id': `user-${n % 20}` },
      // temperature 0 and 40 distinct prompts: cache hits and misses (lookups and writes) both happen.
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        temperature: 0,
        max_tokens: 16,
        messages: [{ role: 'user', content: `question ${n % 40}` }],
      }),
    }).then(
      async (res) => {
        await res.body.text();
        done(res.statusCode);
      },
      () => done(0),
    );
  }

  /** Sends `RATE` requests per second for `ms`, on schedule; resolves when every one answered. */
  async function openLoop(
    url: string,
    ms: number,
    events: Array<[atMs: number, run: () => void]>,
  ): Promise<Sample[]> {
    const samples: Sample[] = [];
    const inflight: Array<Promise<void>> = [];
    const total = (RATE * ms) / 1000;
    const started = performance.now();
    let sent = 0;
    const pending = [...events];
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const elapsed = performance.now() - started;
        while (pending[0] && pending[0][0] <= elapsed) pending.shift()?.[1]();
        const due = Math.min(total, Math.floor((elapsed * RATE) / 1000) + 1);
        while (sent < due) inflight.push(send(url, sent++, started, samples));
        if (sent >= total) {
          clearInterval(tick);
          resolve();
        }
      }, 2);
    });
    await Promise.all(inflight);
    return samples;
  }

  /** One run with a fresh private Redis and gateway process. */
  async function run(): Promise<Report> {
    const redis = await startRedisServer();
    let gw: GatewayProcess | undefined;
    try {
      gw = await spawnGateway({
        ...mockEnv(mock),
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: uniquePrefix('fault'),
        RATE_LIMIT_ENABLED: 'true',
        RATE_LIMIT_DEFAULT_CAPACITY: '100000',
        RATE_LIMIT_DEFAULT_RATE: '100000',
        BUDGET_DEFAULT_DAILY_USD: '1000',
        CACHE_ENABLED: 'true',
      });
      const url = gw.url;
      // Warm-up (connections, JIT, Lua scripts, what the process loads in its first seconds), not measured:
      // until half a second of load is served with p99 ≤ 100 ms, for at most 10 s.
      for (let i = 0; i < 20; i++) {
        const warm = await openLoop(url, 500, []);
        if (
          percentile(
            warm.map((w) => w.latencyMs),
            0.99,
          ) <= 100
        )
          break;
      }

      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const samples = await openLoop(url, HEALTHY_MS + HUNG_MS + KILLED_MS, [
        [HEALTHY_MS, () => redis.pause()],
        [HEALTHY_MS + HUNG_MS, () => void redis.stop()],
      ]);
      loop.disable();

      const failed = samples.filter((s) => s.status !== 200);
      assert.equal(samples.length, (RATE * (HEALTHY_MS + HUNG_MS + KILLED_MS)) / 1000);
      assert.equal(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`);

      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /llm_redis_breaker_state 2/, 'Redis is being skipped');
      assert.match(metrics, /llm_redis_breaker_transitions_total\{to="open"\} [1-9]/);
      assert.match(metrics, /llm_redis_fallback_total\{feature="ratelimit",result="allowed"\} [1-9]/);
      assert.match(metrics, /llm_redis_fallback_total\{feature="budgets",result="allowed"\} [1-9]/);

      const latencies = (from: number, to: number) =>
        samples.filter((s) => s.at >= from && s.at < to).map((s) => s.latencyMs);
      const all = samples.map((s) => s.latencyMs);
      const round = (n: number) => Math.round(n * 10) / 10;
      return {
        machine_delay_p99: round(loop.percentile(99) / 1e6),
        healthy_p99: round(percentile(latencies(0, HEALTHY_MS), 0.99)),
        // While hung, after its first 200 ms: the typical request must not wait on Redis at all.
        hung_p50: round(percentile(latencies(HEALTHY_MS + 200, HEALTHY_MS + HUNG_MS), 0.5)),
        fault_p99: round(percentile(latencies(HEALTHY_MS, Number.POSITIVE_INFINITY), 0.99)),
        p99: round(percentile(all, 0.99)),
        max: round(Math.max(...all)),
      };
    } finally {
      await stopProcess(gw);
      await redis.close();
    }
  }

  test(`${RATE} req/s: Redis SIGSTOPped 3 s then SIGKILLed → 0 failed requests, p99 ≤ ${BOUND_MS} ms`, {
    timeout: 180_000,
  }, async (t) => {
    const runs: Report[] = [];
    for (let i = 0; i < 3; i++) {
      const report = await run();
      runs.push(report);
      t.diagnostic(`run ${i + 1}: ${JSON.stringify(report)}`);
      if (passes(report)) return;
    }
    const quiet = runs.filter((r) => r.machine_delay_p99 <= QUIET_MACHINE_P99_MS && r.healthy_p99 <= 100);
    if (quiet.length === 0) {
      t.skip(
        `machine too busy to judge in every run (event-loop delay p99 > ${QUIET_MACHINE_P99_MS} ms or healthy p99 > 100 ms); no request failed`,
      );
      return;
    }
    assert.fail(
      `missed p99 ≤ ${BOUND_MS} ms or median while hung < ${HUNG_P50_MS} ms: ${JSON.stringify(quiet)}`,
    );
  });
});
