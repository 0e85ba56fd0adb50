/**
 * Long and one-off measurements of the benchmark (DESIGN §14), beside the repeated points of run.ts:
 * - `coldStart`: a freshly started gateway, loaded from the moment `/health/ready` answers 200: is any
 *   request in that first minute slower than the upstream + 50 ms (something heavy opened on the request
 *   path, like a database or an embedding model)?
 * - `soak`: a steady rate for minutes in consecutive windows, the gateway's RSS sampled after each: does
 *   memory stay flat?
 */
import { type LoadResult, type RequestSpec, runAtRate } from './loadgen.js';
import { sampleRss, treeRssMiB } from './procstat.js';

export interface ColdStartResult {
  target: string;
  /** ms from spawn until /health/live, then until /health/ready answered 200. */
  liveAfterMs: number;
  readyAfterMs: number;
  /** The very first request after ready (ms) and the upstream's own median at the same rate. */
  firstRequestMs: number | null;
  upstreamP50Ms: number;
  /** upstream p50 + 50 ms. */
  thresholdMs: number;
  /** Requests of the first minute slower than the threshold. */
  slower: number;
  /** The first of them (at most 40): seconds after ready the request was due, and its latency in ms. */
  slowRequests?: Array<{ atS: number; ms: number }>;
  result: LoadResult;
  rssPeakMiB: number | null;
  met: boolean;
}

/** Polls `url` until it answers 200; returns the ms it took. */
export async function waitFor200(url: string, timeoutMs: number, everyMs = 20): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

/**
 * Loads a gateway that just became ready (`spec`, process `pid`) at `rate` for `durationMs` and compares
 * every request with the upstream's median (`upstreamP50Ms`, measured before at the same rate).
 */
export async function coldStart(
  target: string,
  spec: RequestSpec,
  pid: number,
  timings: { liveAfterMs: number; readyAfterMs: number },
  upstreamP50Ms: number,
  options: { rate: number; durationMs: number },
): Promise<ColdStartResult> {
  const thresholdMs = upstreamP50Ms + 50;
  const rss = sampleRss(pid);
  const slowOnes: Array<{ atS: number; ms: number }> = [];
  let firstRequestMs: number | null = null;
  const result = await runAtRate(spec, {
    rate: options.rate,
    durationMs: options.durationMs,
    onLatency: (ms, i) => {
      if (i === 0) firstRequestMs = Math.round(ms * 1000) / 1000;
      if (ms > thresholdMs)
        slowOnes.push({ atS: Math.round((i / options.rate) * 1000) / 1000, ms: Math.round(ms * 10) / 10 });
    },
  });
  const rssPeakMiB = rss.stop();
  return {
    target,
    ...timings,
    firstRequestMs,
    upstreamP50Ms,
    thresholdMs,
    slower: slowOnes.length + result.errors,
    slowRequests: slowOnes.sort((a, b) => a.atS - b.atS).slice(0, 40),
    result,
    rssPeakMiB,
    met: slowOnes.length === 0 && result.errors === 0,
  };
}

export interface SoakWindow {
  /** Seconds since the soak started, at the end of the window. */
  t: number;
  rssMiB: number | null;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
}

export interface SoakResult {
  target: string;
  rate: number;
  durationS: number;
  windows: SoakWindow[];
  rssIdleMiB: number | null;
  rssPeakMiB: number | null;
  rssAfterMiB: number | null;
  /** RSS growth from the first fifth of the soak (warm) to the last fifth, MiB and %. */
  growthMiB: number | null;
  growthPct: number | null;
  /** Growth under 10 %: memory stayed flat. */
  flat: boolean | null;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s[Math.floor((s.length - 1) / 2)] as number) : Number.NaN;
};

/** A steady `rate` for `durationMs` in windows of `windowMs`; RSS after each window. */
export async function soak(
  target: string,
  spec: RequestSpec,
  pid: number,
  options: { rate: number; durationMs: number; windowMs: number; log?: (line: string) => void },
): Promise<SoakResult> {
  const rssIdleMiB = treeRssMiB(pid);
  const peak = sampleRss(pid, 1000);
  const windows: SoakWindow[] = [];
  const t0 = performance.now();
  const count = Math.max(1, Math.round(options.durationMs / options.windowMs));
  for (let w = 0; w < count; w++) {
    const r = await runAtRate(spec, { rate: options.rate, durationMs: options.windowMs });
    const win: SoakWindow = {
      t: Math.round((performance.now() - t0) / 1000),
      rssMiB: treeRssMiB(pid),
      throughput: r.throughput,
      p50: r.latencyMs.p50,
      p99: r.latencyMs.p99,
      errors: r.errors,
    };
    windows.push(win);
    options.log?.(
      `soak ${target} ${win.t}s: ${win.throughput} req/s p50=${win.p50} p99=${win.p99} ms errors=${win.errors} rss=${win.rssMiB} MiB`,
    );
  }
  const rssPeakMiB = peak.stop();
  await new Promise((r) => setTimeout(r, 5000));
  const rssAfterMiB = treeRssMiB(pid);
  const fifth = Math.max(1, Math.floor(windows.length / 5));
  const rssOf = (ws: SoakWindow[]) => ws.map((x) => x.rssMiB).filter((x): x is number => x !== null);
  const early = median(rssOf(windows.slice(0, fifth)));
  const late = median(rssOf(windows.slice(-fifth)));
  const ok = Number.isFinite(early) && Number.isFinite(late);
  const growthMiB = ok ? Math.round((late - early) * 10) / 10 : null;
  const growthPct = ok ? Math.round(((late - early) / early) * 1000) / 10 : null;
  return {
    target,
    rate: options.rate,
    durationS: Math.round((performance.now() - t0) / 1000),
    windows,
    rssIdleMiB,
    rssPeakMiB,
    rssAfterMiB,
    growthMiB,
    growthPct,
    flat: growthPct === null || windows.length < 5 ? null : growthPct < 10,
  };
}

/** Markdown for the cold-start and soak measurements (appended to the run's report). */
export function renderPhases(coldStarts: ColdStartResult[], soaks: SoakResult[]): string {
  const lines: string[] = [];
  if (coldStarts.length > 0) {
    lines.push(
      '## Cold start (`coldstart`)',
      '',
      "A fresh gateway process, loaded from the moment `/health/ready` answered 200. Target: no request slower than the upstream's median at the same rate + 50 ms.",
      '',
      '| target | live after ms | ready after ms | first request ms | upstream p50 ms | requests | p50 / p99 / max ms | slower than threshold | RSS peak MiB | result |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const c of coldStarts) {
      lines.push(
        `| ${c.target} | ${Math.round(c.liveAfterMs)} | ${Math.round(c.readyAfterMs)} | ${c.firstRequestMs ?? '—'} | ${c.upstreamP50Ms} | ${c.result.completed} | ${c.result.latencyMs.p50} / ${c.result.latencyMs.p99} / ${c.result.latencyMs.max} | ${c.slower} (> ${Math.round(c.thresholdMs * 10) / 10} ms) | ${c.rssPeakMiB ?? '—'} | ${c.met ? 'met' : '**not met**'} |`,
      );
    }
    for (const c of coldStarts) {
      if (!c.slowRequests?.length) continue;
      lines.push(
        '',
        `${c.target}, the slow requests (s after ready: ms)${c.slowRequests.length < c.slower ? `, the first ${c.slowRequests.length}` : ''}: ` +
          c.slowRequests.map((x) => `${x.atS}: ${x.ms}`).join(', '),
      );
    }
    lines.push('');
  }
  for (const s of soaks) {
    lines.push(
      `## Soak: ${s.target} at ${s.rate} req/s for ${Math.round(s.durationS / 60)} min (\`soak\`)`,
      '',
      `RSS idle ${s.rssIdleMiB ?? '—'} MiB, peak ${s.rssPeakMiB ?? '—'} MiB, 5 s after ${s.rssAfterMiB ?? '—'} MiB. ` +
        `Growth from the first to the last fifth of the soak: ${s.growthMiB ?? '—'} MiB (${s.growthPct ?? '—'} %): ` +
        `${s.flat === null ? 'too short to judge' : s.flat ? '**flat** (< 10 %)' : '**not flat** (≥ 10 %)'}.`,
      '',
      '| t (s) | RSS MiB | req/s | p50 ms | p99 ms | errors |',
      '| --- | --- | --- | --- | --- | --- |',
      ...s.windows.map(
        (w) => `| ${w.t} | ${w.rssMiB ?? '—'} | ${w.throughput} | ${w.p50} | ${w.p99} | ${w.errors} |`,
      ),
      '',
    );
  }
  return lines.join('\n');
}
