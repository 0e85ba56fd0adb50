/**
 * The statistics of the experiment report (decision 0114): 95 % intervals — Wilson for a proportion,
 * Student's t for a mean — and the probability that each variant is best, by sampling each variant's
 * posterior (Beta(1 + successes, 1 + failures) for booleans, Normal(mean, sd²/n) for numeric metrics) with a
 * seeded generator, so the same data always gives the same report.
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

/** Mean and sample standard deviation from n, Σx and Σx². */
export function moments(n: number, sum: number, sumSquares: number): { mean: number; sd: number } {
  const mean = n === 0 ? 0 : sum / n;
  const variance = n < 2 ? 0 : Math.max(0, (sumSquares - n * mean * mean) / (n - 1));
  return { mean, sd: Math.sqrt(variance) };
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

/** One variant's data for `probabilityBest`. */
export interface Arm {
  n: number;
  /** Booleans: successes. Numeric: Σx. */
  sum: number;
  /** Numeric only: Σx². */
  sumSquares: number;
}

/**
 * The probability that each arm has the best true value (higher or lower), from `draws` joint posterior
 * samples. Arms without data get null (they are left out of the comparison).
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
  const params = live.map(({ a }) => {
    if (kind === 'boolean') return { alpha: 1 + a.sum, beta: 1 + a.n - a.sum, mean: 0, se: 0 };
    const { mean, sd } = moments(a.n, a.sum, a.sumSquares);
    // One value (or no spread) says little: fall back to a wide spread rather than certainty.
    const spread = a.n < 2 || sd === 0 ? Math.max(Math.abs(mean), 1) : sd;
    return { alpha: 0, beta: 0, mean, se: spread / Math.sqrt(a.n) };
  });
  const sign = direction === 'higher' ? 1 : -1;
  for (let d = 0; d < draws; d++) {
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
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
        best = k;
      }
    });
    const winner = live[best];
    if (winner) wins[winner.i] = (wins[winner.i] ?? 0) + 1;
  }
  return arms.map((a, i) => (a.n > 0 ? (wins[i] ?? 0) / draws : null));
}
