/**
 * Summaries and the paired significance test of `eval compare` and the report: per target and metric the
 * count, mean with a 95 % bootstrap interval, and percentiles; between two targets or runs, the mean
 * difference over the items both scored, with a paired bootstrap (fixed seed, so the same inputs always
 * give the same p-value; decision 0127).
 */

import { mulberry32 } from '../core/random.js';

export const BOOTSTRAP_SEED = 20_240_521;
export const BOOTSTRAP_RESAMPLES = 10_000;

export const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;

/** Linear-interpolated percentile, p in [0, 100]. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (rank - lo);
}

/** 95 % percentile-bootstrap interval of the mean. */
export function bootstrapMeanCi(xs: readonly number[], seed = BOOTSTRAP_SEED): [number, number] {
  if (xs.length === 0) return [Number.NaN, Number.NaN];
  const random = mulberry32(seed);
  const means = new Float64Array(2000);
  for (let r = 0; r < means.length; r++) {
    let s = 0;
    for (let i = 0; i < xs.length; i++) s += xs[Math.floor(random() * xs.length)] as number;
    means[r] = s / xs.length;
  }
  means.sort();
  return [
    means[Math.floor(0.025 * means.length)] as number,
    means[Math.ceil(0.975 * means.length) - 1] as number,
  ];
}

export interface PairedTest {
  n: number;
  /** mean(b − a) */
  delta: number;
  ci: [number, number];
  /** Two-sided p-value of "no difference" (paired bootstrap of the centred differences). */
  p: number;
}

/**
 * Paired bootstrap over differences d = b − a: resample the items with replacement, and count how often a
 * resampled mean of the centred differences is at least as far from 0 as the observed mean.
 */
export function pairedBootstrap(
  a: readonly number[],
  b: readonly number[],
  seed = BOOTSTRAP_SEED,
  resamples = BOOTSTRAP_RESAMPLES,
): PairedTest {
  const n = Math.min(a.length, b.length);
  const d = Array.from({ length: n }, (_, i) => (b[i] as number) - (a[i] as number));
  const observed = mean(d);
  if (n === 0) return { n, delta: Number.NaN, ci: [Number.NaN, Number.NaN], p: Number.NaN };
  if (d.every((x) => x === d[0]))
    return { n, delta: observed, ci: [observed, observed], p: observed === 0 ? 1 : 0 };
  const random = mulberry32(seed);
  const means = new Float64Array(resamples);
  let extreme = 0;
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += d[Math.floor(random() * n)] as number;
    const m = s / n;
    means[r] = m;
    if (Math.abs(m - observed) >= Math.abs(observed)) extreme++;
  }
  means.sort();
  return {
    n,
    delta: observed,
    ci: [means[Math.floor(0.025 * resamples)] as number, means[Math.ceil(0.975 * resamples) - 1] as number],
    p: (extreme + 1) / (resamples + 1),
  };
}
