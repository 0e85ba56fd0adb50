/**
 * The statistics of the experiment report (decision 0114): 95 % intervals — Wilson for a proportion,
 * Student's t for a mean — and the probability that each variant is best, by sampling each variant's
 * posterior (Beta(1 + successes, 1 + failures) for booleans, Normal(mean, sd²/n) for numeric metrics, with
 * the pooled sd standing in for a variant whose values do not vary: decision 0228) with a seeded
 * generator, so the same data always gives the same report.
 */

import { mulberry32 } from '../core/random.js';

const Z95 = 1.959963984540054;

/** Wilson score interval of a proportion (95 %). */
export function wilson(successes: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = successes / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Two-sided 95 % quantiles of Student's t for 1–30 degrees of freedom. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The t quantile (table to 30 df, then the Cornish–Fisher expansion). */
export function t95(df: number): number {
  if (df < 1) return Number.POSITIVE_INFINITY;
  if (df <= 30) return T95[df - 1] as number;
  const z = Z95;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/** The t interval of a mean (95 %); null with fewer than two values. */
export function tInterval(n: number, mean: number, sd: number): [number, number] | null {
  if (n < 2) return null;
  const half = (t95(n - 1) * sd) / Math.sqrt(n);
  return [mean - half, mean + half];
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A Gamma(shape, 1) draw (Marsaglia–Tsang; shape ≥ 1 here since the prior adds 1). */
function gamma(shape: number, random: () => number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** One variant's data for `probabilityBest`: the count, mean and sample standard deviation of its values. */
export interface Arm {
  n: number;
  /** Booleans: the share of 1s. */
  mean: number;
  /** Numeric only (0 with fewer than two values). */
  sd: number;
}

/**
 * The spread of each numeric arm's posterior (decision 0228): its own sample sd when it has two or more
 * values that differ; else — one value, or all equal — the pooled sd of every arm with two or more values
 * (Σ(n − 1)·sd² / Σ(n − 1)), the experiment's best estimate of how much the metric varies, whatever the size
 * of the values. A pooled sd of 0 (every arm unanimous) makes the posteriors point masses, compared
 * exactly. Null when no arm has two values: nothing says how much the metric varies.
 */
export function spreads(arms: readonly Arm[]): number[] | null {
  let df = 0;
  let squares = 0;
  for (const a of arms) {
    if (a.n < 2) continue;
    df += a.n - 1;
    squares += (a.n - 1) * a.sd * a.sd;
  }
  if (df === 0) return null;
  const pooled = Math.sqrt(squares / df);
  return arms.map((a) => (a.n >= 2 && a.sd > 0 ? a.sd : pooled));
}

/**
 * The probability that each arm has the best true value (higher or lower), from `draws` joint posterior
 * samples; arms that tie in a draw (point masses at one value) share it. Arms without data get null (they
 * are left out of the comparison); every arm gets null when a numeric metric has no spread estimate
 * (`spreads`).
 */
export function probabilityBest(
  arms: readonly Arm[],
  kind: 'boolean' | 'numeric',
  direction: 'higher' | 'lower',
  options: { seed?: number; draws?: number } = {},
): Array<number | null> {
  const random = mulberry32(options.seed ?? 12_345);
  const draws = options.draws ?? 10_000;
  const live = arms.map((a, i) => ({ a, i })).filter(({ a }) => a.n > 0);
  const wins = new Array<number>(arms.length).fill(0);
  if (live.length === 0) return arms.map(() => null);
  const spread = kind === 'numeric' ? spreads(live.map(({ a }) => a)) : [];
  if (spread === null) return arms.map(() => null);
  const params = live.map(({ a }, k) => {
    if (kind === 'boolean') {
      const successes = Math.round(a.mean * a.n);
      return { alpha: 1 + successes, beta: 1 + a.n - successes, mean: 0, se: 0 };
    }
    return { alpha: 0, beta: 0, mean: a.mean, se: (spread[k] as number) / Math.sqrt(a.n) };
  });
  const sign = direction === 'higher' ? 1 : -1;
  const tied: number[] = [];
  for (let d = 0; d < draws; d++) {
    let bestValue = Number.NEGATIVE_INFINITY;
    tied.length = 0;
    params.forEach((p, k) => {
      let value: number;
      if (kind === 'boolean') {
        const x = gamma(p.alpha, random);
        value = x / (x + gamma(p.beta, random));
      } else {
        value = p.mean + p.se * normal(random);
      }
      if (sign * value > bestValue) {
        bestValue = sign * value;
        tied.length = 0;
      }
      if (sign * value === bestValue) tied.push(k);
    });
    for (const k of tied) {
      const winner = live[k];
      if (winner) wins[winner.i] = (wins[winner.i] ?? 0) + 1 / tied.length;
    }
  }
  return arms.map((a, i) => (a.n > 0 ? (wins[i] ?? 0) / draws : null));
}
