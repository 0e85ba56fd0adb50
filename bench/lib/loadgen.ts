/**
 * Load generators for the benchmark, on undici (keep-alive connection pool):
 * - `runAtRate`: open loop, steady rate. Request i is due at start + i/rate whatever happened to the ones
 *   before (no coordinated omission). Latency is timed with `performance.now()` (microseconds) two ways:
 *   from the moment the request was actually sent (service time: what the overhead is computed from) and
 *   from the moment it was due (corrected: includes queueing when the target cannot keep up).
 *   The scheduler sleeps with timers (it never spins: the load generator shares a core with the upstream,
 *   and a spinning process would steal time slices from it), so sends are late by up to ~1 ms; that lag is
 *   the same for every target and shows only in the corrected figures.
 * - `runClosedLoop`: N connections, each sending its next request as soon as the previous answer ended
 *   (maximum throughput).
 * Streams: time to first byte is the first body chunk (not the headers), total is the end of the body.
 */
import { Pool } from 'undici';

export interface RequestSpec {
  /** Origin, e.g. http://127.0.0.1:8000 */
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The body of the i-th request (unique prompts for cache misses, a fixed one for cache hits). */
  body: (i: number) => string;
  stream?: boolean;
}

/**
 * Chat completions that always miss the cache: a new question per request (the request counter in the text)
 * at temperature 0.7, JSON or streamed.
 */
export function missSpec(origin: string, stream: boolean): RequestSpec {
  let n = 0;
  return {
    origin,
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: () =>
      JSON.stringify({
        model: 'gpt-4o-mini',
        temperature: 0.7,
        stream,
        messages: [{ role: 'user', content: `Question ${n++}: how do I reset my password?` }],
      }),
    stream,
  };
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  mode: 'rate' | 'closed';
  /** Requested rate (rate mode) or connections (closed mode). */
  rate: number | null;
  connections: number;
  durationS: number;
  sent: number;
  completed: number;
  ok: number;
  errors: number;
  /** Answers by status ("error" = transport failure). */
  statuses: Record<string, number>;
  /** X-Cache-Status values seen (HIT/MISS/…), "none" when the header was absent. */
  cache: Record<string, number>;
  /** Completed answers per second over the measured window. */
  throughput: number;
  /** Milliseconds, service time (from the actual send). */
  latencyMs: Percentiles;
  /** Milliseconds, from the due time (rate mode only). */
  correctedMs: Percentiles | null;
  /** Streams: first body byte, ms from the actual send. */
  ttfbMs: Percentiles | null;
}

export function percentiles(values: Float64Array | number[]): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0)
    return {
      p50: Number.NaN,
      p90: Number.NaN,
      p99: Number.NaN,
      p999: Number.NaN,
      max: Number.NaN,
      mean: Number.NaN,
    };
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    p50: r(at(0.5)),
    p90: r(at(0.9)),
    p99: r(at(0.99)),
    p999: r(at(0.999)),
    max: r(sorted[n - 1] as number),
    mean: r(sum / n),
  };
}

class Recorder {
  readonly latency: number[] = [];
  readonly corrected: number[] = [];
  readonly ttfb: number[] = [];
  readonly statuses: Record<string, number> = {};
  readonly cache: Record<string, number> = {};
  ok = 0;
  errors = 0;
  completed = 0;
  count(key: string, map: Record<string, number>): void {
    map[key] = (map[key] ?? 0) + 1;
  }
}

async function one(
  pool: Pool,
  spec: RequestSpec,
  i: number,
  due: number | null,
  rec: Recorder | null,
  timeoutMs: number,
  onLatency?: (ms: number, i: number) => void,
): Promise<void> {
  const sent = performance.now();
  try {
    const res = await pool.request({
      path: spec.path,
      method: 'POST',
      headers: spec.headers,
      body: spec.body(i),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    let first = -1;
    for await (const _chunk of res.body) {
      if (first < 0) first = performance.now();
    }
    const end = performance.now();
    if (!rec) return;
    rec.completed++;
    rec.count(String(res.statusCode), rec.statuses);
    const cacheHeader = res.headers['x-cache-status'];
    rec.count(typeof cacheHeader === 'string' ? cacheHeader.toUpperCase() : 'none', rec.cache);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      rec.ok++;
      rec.latency.push(end - sent);
      onLatency?.(end - sent, i);
      if (due !== null) rec.corrected.push(end - due);
      if (spec.stream && first >= 0) rec.ttfb.push(first - sent);
    } else {
      rec.errors++;
    }
  } catch {
    if (!rec) return;
    rec.completed++;
    rec.errors++;
    rec.count('error', rec.statuses);
  }
}

function finish(
  mode: 'rate' | 'closed',
  rate: number | null,
  connections: number,
  durationS: number,
  sent: number,
  rec: Recorder,
  stream: boolean,
): LoadResult {
  return {
    mode,
    rate,
    connections,
    durationS,
    sent,
    completed: rec.completed,
    ok: rec.ok,
    errors: rec.errors,
    statuses: rec.statuses,
    cache: rec.cache,
    throughput: Math.round((rec.ok / durationS) * 10) / 10,
    latencyMs: percentiles(rec.latency),
    correctedMs: mode === 'rate' ? percentiles(rec.corrected) : null,
    ttfbMs: stream ? percentiles(rec.ttfb) : null,
  };
}

export interface RateOptions {
  rate: number;
  durationMs: number;
  /** Requests in this first stretch are sent at the rate but not recorded. */
  warmupMs?: number;
  /** Pool size (the most requests in flight before they queue in the client). */
  connections?: number;
  timeoutMs?: number;
  /** Called with each successful request's latency (ms, from the send) and its index. */
  onLatency?: (ms: number, i: number) => void;
}

/** Open-loop steady rate. Requests still running at the end are awaited (bounded by the timeout). */
export async function runAtRate(spec: RequestSpec, options: RateOptions): Promise<LoadResult> {
  const connections = options.connections ?? 256;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const warmup = options.warmupMs ?? 0;
  const pool = new Pool(spec.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const rec = new Recorder();
  const interval = 1000 / options.rate;
  const warmupCount = Math.floor(warmup / interval);
  const total = warmupCount + Math.floor(options.durationMs / interval);
  const inflight = new Set<Promise<void>>();
  const start = performance.now() + 5;
  let i = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (i < total) {
        const due = start + i * interval;
        if (due > now) break;
        const p = one(pool, spec, i, due, i >= warmupCount ? rec : null, timeoutMs, options.onLatency);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
        i++;
      }
      if (i >= total) return resolve();
      const wait = start + i * interval - performance.now();
      setTimeout(tick, Math.max(0, wait));
    };
    setTimeout(tick, 5);
  });
  await Promise.all(inflight);
  await pool.close();
  return finish(
    'rate',
    options.rate,
    connections,
    options.durationMs / 1000,
    total - warmupCount,
    rec,
    spec.stream === true,
  );
}

export interface ClosedOptions {
  connections: number;
  durationMs: number;
  warmupMs?: number;
  timeoutMs?: number;
}

/** Closed loop: `connections` requests in flight at all times for the duration. */
export async function runClosedLoop(spec: RequestSpec, options: ClosedOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const pool = new Pool(spec.origin, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
  });
  const rec = new Recorder();
  const warmupEnd = performance.now() + (options.warmupMs ?? 0);
  const end = warmupEnd + options.durationMs;
  let i = 0;
  let sent = 0;
  let measuredStart = 0;
  const worker = async () => {
    for (;;) {
      const now = performance.now();
      if (now >= end) return;
      const measuring = now >= warmupEnd;
      if (measuring && measuredStart === 0) measuredStart = now;
      if (measuring) sent++;
      await one(pool, spec, i++, null, measuring ? rec : null, timeoutMs);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  await pool.close();
  return finish(
    'closed',
    null,
    options.connections,
    options.durationMs / 1000,
    sent,
    rec,
    spec.stream === true,
  );
}

/**
 * Closed-loop load (16 connections) in slices of `sliceMs` until `requests` were completed or `maxMs` passed
 * (a fast proxy stops near the count, a slow one at the time bound); stops early when a slice completes
 * nothing. Brings a process's hot code through V8's optimising compiler (decision 0198). Returns the count.
 */
export async function warmUp(
  spec: RequestSpec,
  requests: number,
  options: { maxMs: number; sliceMs?: number },
): Promise<number> {
  const until = Date.now() + options.maxMs;
  let done = 0;
  while (done < requests && Date.now() < until) {
    const slice = await runClosedLoop(spec, { connections: 16, durationMs: options.sliceMs ?? 1000 });
    if (slice.completed === 0) break;
    done += slice.completed;
  }
  return done;
}
