/**
 * `npm run loadtest`: the seed's Locust scenario in TypeScript. Simulated users, each looping over
 * weighted tasks with a random think time (Locust's `between(1, 3)`):
 *   3 × cached    gpt-4o-mini, "What is 2+2?", temperature 0 (should hit the cache)
 *   1 × uncached  gpt-4o-mini, "Random: <random>", temperature 0.7
 *   1 × streaming claude-3-5-haiku-20241022, "Count to 10", stream: true
 * Users ramp 10 → 50 → 100 (one stage each, bounded duration), spawned a few per second like Locust.
 * Reports throughput, p50/p95/p99 per scenario (streams: also time to first byte), error rate and cache
 * hit rate (from X-Cache-Status), per stage and overall, and the seed's success figures: cache hit rate
 * over all requests, cost spent (the X-Cost headers) and cost saved by the cache (the gateway's
 * `llm_cost_saved_usd_total`, read from /metrics before and after), as JSON and Markdown.
 *
 *   npm run loadtest                                    local gateway in front of a realistic mock upstream
 *   npm run loadtest -- --url http://gw:8000 --api-key sk-gw-…   any running gateway
 *   npm run loadtest -- --users 10,50,100 --stage-seconds 60 --wait 1,3
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { percentiles } from './lib/loadgen.js';
import { formatJson, type Proc, REPO_ROOT, startGateway, startMock } from './lib/targets.js';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    'api-key': { type: 'string', default: process.env.LOADTEST_API_KEY },
    users: { type: 'string', default: '10,50,100' },
    'stage-seconds': { type: 'string', default: '30' },
    'spawn-rate': { type: 'string', default: '10' },
    wait: { type: 'string', default: '1,3' },
    'ttft-ms': { type: 'string', default: '200' },
    'tokens-per-second': { type: 'string', default: '100' },
    'timeout-seconds': { type: 'string', default: '60' },
    out: { type: 'string' },
  },
});

const stages = opts.users.split(',').map(Number);
const stageMs = Number(opts['stage-seconds']) * 1000;
const spawnRate = Number(opts['spawn-rate']);
const [waitMin, waitMax] = opts.wait.split(',').map(Number) as [number, number];
const timeoutMs = Number(opts['timeout-seconds']) * 1000;
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = opts.out ?? join(REPO_ROOT, 'bench/results', `loadtest-${stamp}`);
const tmp = join(REPO_ROOT, 'bench/.tmp', `loadtest-${stamp}`);
const log = (msg: string) =>
  process.stderr.write(`[loadtest ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

type Scenario = 'cached' | 'uncached' | 'streaming';
const WEIGHTS: Array<[Scenario, number]> = [
  ['cached', 3],
  ['uncached', 1],
  ['streaming', 1],
];

function body(s: Scenario): string {
  switch (s) {
    case 'cached':
      return JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'What is 2+2?' }],
        temperature: 0,
        stream: false,
      });
    case 'uncached':
      return JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `Random: ${Math.random()}` }],
        temperature: 0.7,
        stream: false,
      });
    case 'streaming':
      return JSON.stringify({
        model: 'claude-3-5-haiku-20241022',
        messages: [{ role: 'user', content: 'Count to 10' }],
        stream: true,
      });
  }
}

function pick(): Scenario {
  const total = WEIGHTS.reduce((a, [, w]) => a + w, 0);
  let r = Math.random() * total;
  for (const [s, w] of WEIGHTS) {
    r -= w;
    if (r < 0) return s;
  }
  return 'cached';
}

interface Sample {
  stage: number;
  scenario: Scenario;
  ok: boolean;
  status: number | 'error';
  ms: number;
  ttfbMs: number | null;
  cache: string | null;
  /** The answer's X-Cost header (USD), when it carried one. */
  costUsd: number | null;
}

/** USD counters of the gateway's /metrics: spent upstream and saved by the cache; null when unreadable. */
async function costCounters(
  origin: string,
  headers: Record<string, string>,
): Promise<{ spent: number; saved: number } | null> {
  try {
    const res = await fetch(`${origin}/metrics`, { headers });
    if (!res.ok) return null;
    const text = await res.text();
    const sum = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    return { spent: sum('llm_cost_usd_total'), saved: sum('llm_cost_saved_usd_total') };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const procs: Proc[] = [];
  let url = opts.url;
  let target = url ?? '';
  if (!url) {
    mkdirSync(tmp, { recursive: true });
    const mock = await startMock('mock', tmp, null, {
      chunks: 20,
      ttftMs: Number(opts['ttft-ms']),
      tokensPerSecond: Number(opts['tokens-per-second']),
    });
    procs.push(mock);
    const gw = await startGateway('gateway', tmp, null, mock.origin, {
      env: {
        ANTHROPIC_API_KEY: 'sk-ant-loadtest',
        ANTHROPIC_BASE_URL: mock.origin,
        // Defaults otherwise (rate limit, usage records, exact cache on); the anonymous bucket is raised so
        // the limiter is checked on every request but refuses none (the default allows 10 per minute).
        RATE_LIMIT_DEFAULT_RATE: '100000000',
        RATE_LIMIT_DEFAULT_CAPACITY: '100000000',
      },
    });
    procs.push(gw);
    url = gw.origin;
    target = `local gateway in front of the mock upstream (TTFT ${opts['ttft-ms']} ms, ${opts['tokens-per-second']} tokens/s, 20 tokens)`;
  }
  log(`target ${url}: ${target}`);
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections: Math.max(...stages) * 2, keepAliveTimeout: 60_000 });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(opts['api-key'] ? { authorization: `Bearer ${opts['api-key']}` } : {}),
  };
  const samples: Sample[] = [];
  let stage = 0;
  let stopping = false;
  let active = 0;

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const user = async (id: number) => {
    while (!stopping && id < active) {
      const scenario = pick();
      const s = stage;
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers,
          body: body(scenario),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
        let first: number | null = null;
        let text = '';
        for await (const chunk of res.body) {
          first ??= performance.now();
          if (scenario === 'streaming') text += chunk.toString();
        }
        const end = performance.now();
        // A stream is a success only when it ended with [DONE] (an error event mid-stream is a failure).
        const ok = res.statusCode === 200 && (scenario !== 'streaming' || text.includes('data: [DONE]'));
        const cache = res.headers['x-cache-status'];
        const cost = Number(res.headers['x-cost']);
        samples.push({
          stage: s,
          scenario,
          ok,
          status: res.statusCode,
          ms: end - t0,
          ttfbMs: scenario === 'streaming' && first !== null ? first - t0 : null,
          cache: typeof cache === 'string' ? cache.toUpperCase() : null,
          costUsd: typeof res.headers['x-cost'] === 'string' && Number.isFinite(cost) ? cost : null,
        });
      } catch {
        samples.push({
          stage: s,
          scenario,
          ok: false,
          status: 'error',
          ms: performance.now() - t0,
          ttfbMs: null,
          cache: null,
          costUsd: null,
        });
      }
      await sleep((waitMin + Math.random() * (waitMax - waitMin)) * 1000);
    }
  };

  const counters0 = await costCounters(origin, headers);
  const running: Promise<void>[] = [];
  const stageTimes: Array<{ users: number; startedAt: number; endedAt: number }> = [];
  for (const [i, users] of stages.entries()) {
    stage = i;
    const started = performance.now();
    log(`stage ${i + 1}/${stages.length}: ramping to ${users} users`);
    // Spawn `spawnRate` users per second up to the stage's count (fewer: the extra loops end themselves).
    while (active < users) {
      const batch = Math.min(spawnRate, users - active);
      for (let k = 0; k < batch; k++) running.push(user(active++));
      if (active < users) await sleep(1000);
    }
    active = users;
    await sleep(Math.max(0, stageMs - (performance.now() - started)));
    stageTimes.push({ users, startedAt: started, endedAt: performance.now() });
  }
  stopping = true;
  await Promise.all(running);
  await pool.close();
  const counters1 = await costCounters(origin, headers);
  for (const p of procs) await p.stop();
  rmSync(tmp, { recursive: true, force: true });

  const summarize = (list: Sample[], seconds: number) => {
    const scenarios: Record<string, unknown> = {};
    for (const [s] of WEIGHTS) {
      const of = list.filter((x) => x.scenario === s);
      const ok = of.filter((x) => x.ok);
      const lat = percentiles(ok.map((x) => x.ms));
      const ttfb =
        s === 'streaming' ? percentiles(ok.map((x) => x.ttfbMs ?? Number.NaN).filter(Number.isFinite)) : null;
      scenarios[s] = {
        requests: of.length,
        errors: of.length - ok.length,
        p50: lat.p50,
        p95: percentileAt(
          ok.map((x) => x.ms),
          0.95,
        ),
        p99: lat.p99,
        ttfbP50: ttfb?.p50 ?? null,
        ttfbP99: ttfb?.p99 ?? null,
      };
    }
    const cached = list.filter((x) => x.scenario === 'cached' && x.ok);
    const withHeader = cached.filter((x) => x.cache !== null);
    const errors = list.filter((x) => !x.ok).length;
    return {
      requests: list.length,
      throughput: Math.round((list.length / seconds) * 10) / 10,
      errorRatePct: list.length ? Math.round((errors / list.length) * 10_000) / 100 : 0,
      statuses: countBy(list.map((x) => String(x.status))),
      cacheHitRatePct: withHeader.length
        ? Math.round((withHeader.filter((x) => x.cache === 'HIT').length / withHeader.length) * 10_000) / 100
        : null,
      cacheHitRateAllPct: (() => {
        const all = list.filter((x) => x.ok && x.cache !== null);
        return all.length
          ? Math.round((all.filter((x) => x.cache === 'HIT').length / all.length) * 10_000) / 100
          : null;
      })(),
      scenarios,
    };
  };
  const perStage = stageTimes.map((t, i) => ({
    users: t.users,
    seconds: Math.round((t.endedAt - t.startedAt) / 100) / 10,
    ...summarize(
      samples.filter((x) => x.stage === i),
      (t.endedAt - t.startedAt) / 1000,
    ),
  }));
  const totalSeconds = stageTimes.reduce((a, t) => a + (t.endedAt - t.startedAt), 0) / 1000;
  const result = {
    startedAt: new Date(Date.now() - totalSeconds * 1000).toISOString(),
    target: { url, description: target },
    settings: {
      stages,
      stageSeconds: stageMs / 1000,
      spawnRate,
      wait: [waitMin, waitMax],
      mix: '3:1:1 cached/uncached/streaming',
    },
    overall: summarize(samples, totalSeconds),
    // The seed's success figures: how often the cache answered, and what that saved.
    success: success(samples, counters0, counters1),
    stages: perStage,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(`${out}.md`, render(result));
  formatJson(`${out}.json`);
  process.stdout.write(render(result));
  log(`wrote ${out}.json and ${out}.md`);
}

const usd = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Cache hit rate over all requests; cost spent upstream and saved by the cache, from the gateway's /metrics
 * (deltas over the run; spent falls back to the X-Cost headers, saved to null, when /metrics is unreadable).
 */
function success(
  samples: Sample[],
  before: { spent: number; saved: number } | null,
  after: { spent: number; saved: number } | null,
) {
  const answered = samples.filter((x) => x.ok && x.cache !== null);
  const hits = answered.filter((x) => x.cache === 'HIT').length;
  const headerUsd = usd(samples.reduce((a, x) => a + (x.costUsd ?? 0), 0));
  const savedUsd = before && after ? usd(after.saved - before.saved) : null;
  // /metrics counts every request's cost; X-Cost headers miss streams (their cost comes in a trailer).
  const spentUsd = before && after ? usd(after.spent - before.spent) : headerUsd;
  return {
    requests: samples.length,
    cacheHits: hits,
    cacheHitRatePct: answered.length ? Math.round((hits / answered.length) * 10_000) / 100 : null,
    costSpentUsd: spentUsd,
    costSpentSource: before && after ? 'metrics' : 'x-cost headers (non-stream only)',
    costSpentUsdHeaders: headerUsd,
    costSavedUsd: savedUsd,
    costSavedPct:
      savedUsd !== null && savedUsd + spentUsd > 0
        ? Math.round((savedUsd / (savedUsd + spentUsd)) * 10_000) / 100
        : null,
  };
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}

function percentileAt(values: number[], q: number): number {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return Number.NaN;
  return Math.round((s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number) * 1000) / 1000;
}

// biome-ignore lint/suspicious/noExplicitAny: the report reads the result object it just built
function render(r: any): string {
  const lines = [
    `# Load test ${r.startedAt}`,
    '',
    `Target: ${r.target.description} (${r.target.url}). Mix ${r.settings.mix}, users ${r.settings.stages.join(' → ')}, ${r.settings.stageSeconds} s per stage, think time ${r.settings.wait.join('–')} s.`,
    '',
    `Success figures (all stages): cache hit rate ${r.success.cacheHitRatePct ?? '—'} % of ${r.success.requests} requests (${r.success.cacheHits} hits); cost spent upstream ${r.success.costSpentUsd} USD (${r.success.costSpentSource}); cost saved by the cache ${r.success.costSavedUsd === null ? '— (/metrics not readable)' : `${r.success.costSavedUsd} USD, ${r.success.costSavedPct} % of what the requests would have cost`}.`,
    '',
    '| stage | users | req/s | errors % | cache hit rate (cached task) | scenario | requests | p50 ms | p95 ms | p99 ms | TTFB p50 / p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const rows = [
    ...r.stages.map((s: { users: number }, i: number) => [`${i + 1}`, s]),
    ['all', { ...r.overall, users: '—' }],
  ];
  for (const [name, s] of rows) {
    for (const [scenario, v] of Object.entries(s.scenarios) as Array<
      [string, Record<string, number | null>]
    >) {
      lines.push(
        `| ${name} | ${s.users} | ${s.throughput} | ${s.errorRatePct} | ${s.cacheHitRatePct === null ? 'no X-Cache-Status (cache not on this build)' : `${s.cacheHitRatePct} %`} | ${scenario} | ${v.requests} | ${v.p50} | ${v.p95} | ${v.p99} | ${v.ttfbP50 === null ? '—' : `${v.ttfbP50} / ${v.ttfbP99}`} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

await main();
process.exit(0);
