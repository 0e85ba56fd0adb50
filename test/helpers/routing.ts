/**
 * Helpers for the routing tests: a clock that tests move forward by hand (breaker cool-downs, latency probe
 * intervals) and a seeded random source, plus readers for /admin/routes and /metrics.
 */
import type { Clock } from '../../src/core/clock.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { TEST_EPOCH_MS, wallFrom } from './fake-clock.js';

export interface ManualClock extends Clock {
  /** Moves the gateway's time forward without waiting. */
  advance(ms: number): void;
  /** Every wait the gateway asked for (backoff), in ms; never slept. */
  readonly waits: number[];
}

/**
 * Real time plus whatever the test (or a backoff wait) skipped; `random` seeded, so runs repeat. Wall time
 * starts at `epochMs` (a fixed date, never today's) and moves with it.
 */
export function manualClock(seed = 42, epochMs = TEST_EPOCH_MS): ManualClock {
  let skipped = 0;
  const waits: number[] = [];
  const random = mulberry32(seed);
  const now = () => performance.now() + skipped;
  return {
    waits,
    now,
    wallNow: wallFrom(now, epochMs),
    random,
    sleep(ms, signal) {
      waits.push(ms);
      if (signal.aborted) return Promise.reject(signal.reason);
      skipped += ms;
      return Promise.resolve();
    },
    advance(ms) {
      skipped += ms;
    },
  };
}

/** A small seeded PRNG (uniform in [0, 1)). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts `n` mock upstreams, each one "deployment" on its own port. */
export function startMocks(n: number, options: Parameters<typeof MockUpstream.start>[0] = {}) {
  return Promise.all(Array.from({ length: n }, () => MockUpstream.start(options)));
}

export const ADMIN_KEY = 'admin-test-key-0123456789';

export interface AdminDeployment {
  id: string;
  provider: string;
  model: string;
  state: 'closed' | 'open' | 'half_open';
  error_rate: number;
  requests_in_window: number;
  consecutive_failures: number;
  retry_in_ms: number | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  samples: number;
}

export interface AdminRoutes {
  routes: Array<{ name: string; strategy: string; deployments: AdminDeployment[] }>;
  deployments: AdminDeployment[];
}

export async function adminRoutes(gatewayUrl: string): Promise<AdminRoutes> {
  const res = await fetch(`${gatewayUrl}/admin/routes`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  if (res.status !== 200) throw new Error(`/admin/routes answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AdminRoutes;
}

/** The value of one sample on /metrics, e.g. `llm_circuit_state{deployment="a"}`; undefined when absent. */
export async function metricValue(gatewayUrl: string, sample: string): Promise<number | undefined> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}
