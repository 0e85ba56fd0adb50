import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mulberry32 } from '../core/random.js';
import type { Experiment } from './assign.js';
import { buildReport } from './report.js';
import { t95, wilson } from './stats.js';
import type { VariantFeedback } from './store.js';

const experiment: Experiment = {
  id: 'exp',
  status: 'running',
  variants: [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 1 },
  ],
  sticky_by: 'user',
  holdout: 0,
  prompt_id: null,
  label: null,
};
const metrics = {
  thumbs_up: { type: 'boolean' as const, direction: 'higher' as const },
  rating: { type: 'numeric' as const, direction: 'higher' as const },
};

/** The aggregates the store returns for a list of values. */
function aggregate(variant: string, metric: string, values: readonly number[]): VariantFeedback {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n < 2 ? 0 : values.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { variant, metric, n, mean, variance };
}

/** Synthetic feedback: `n` requests per variant, thumbs up with probability p, ratings ~ N(mu, 1). */
function synthetic(
  seed: number,
  arms: Record<string, { p: number; mu: number }>,
  n: number,
): VariantFeedback[] {
  const random = mulberry32(seed);
  const out: VariantFeedback[] = [];
  for (const [variant, { p, mu }] of Object.entries(arms)) {
    const thumbs: number[] = [];
    const ratings: number[] = [];
    for (let i = 0; i < n; i++) {
      thumbs.push(random() < p ? 1 : 0);
      ratings.push(mu + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
    }
    out.push(aggregate(variant, 'thumbs_up', thumbs));
    out.push(aggregate(variant, 'rating', ratings));
  }
  return out;
}

const traffic = [
  { variant: 'a', requests: 1000, errors: 10, costPerRequest: 0.001, latencyP50: 100, latencyP95: 300 },
  { variant: 'b', requests: 1000, errors: 0, costPerRequest: 0.002, latencyP50: 120, latencyP95: 320 },
];

describe('experiment report', () => {
  test('finds a known difference at 95 %', () => {
    const feedback = synthetic(7, { a: { p: 0.5, mu: 3 }, b: { p: 0.6, mu: 3.3 } }, 1000);
    const report = buildReport(experiment, traffic, feedback, metrics);
    assert.equal(report.metrics.thumbs_up?.best, 'b');
    assert.equal(report.metrics.rating?.best, 'b');
    const b = report.variants.find((v) => v.name === 'b');
    assert.ok((b?.feedback.thumbs_up?.probability_best ?? 0) >= 0.975);
    assert.equal(report.threshold.thumbs_up, 0.975);
    const a = report.variants.find((v) => v.name === 'a');
    assert.equal(a?.error_rate, 0.01);
    assert.equal(a?.cost_per_request_usd, 0.001);
    assert.deepEqual(a?.latency_ms, { p50: 100, p95: 300 });
    // The true means lie in the intervals.
    const [lo, hi] = a?.feedback.thumbs_up?.ci95 ?? [0, 0];
    assert.ok(lo < 0.5 && 0.5 < hi, `${lo}..${hi}`);
  });

  test('finds none on an A/A test', () => {
    // One fixed seed; the next test checks the false-winner rate over many.
    const feedback = synthetic(5, { a: { p: 0.5, mu: 3 }, b: { p: 0.5, mu: 3 } }, 1000);
    const report = buildReport(experiment, traffic, feedback, metrics);
    assert.equal(report.metrics.thumbs_up?.best, null);
    assert.equal(report.metrics.rating?.best, null);
  });

  test('A/A over many seeds: a false winner at most about 5 % of the time', () => {
    let falseWinners = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const feedback = synthetic(seed, { a: { p: 0.3, mu: 0 }, b: { p: 0.3, mu: 0 } }, 300);
      const report = buildReport(experiment, [], feedback, { thumbs_up: metrics.thumbs_up }, seed);
      if (report.metrics.thumbs_up?.best !== null) falseWinners++;
    }
    // At the two-sided 95 % level about 2 of 40 A/A runs name a winner by chance; 6 or more would mean the
    // rule is too eager (binomial(40, 0.05) ≥ 6 has probability under 5 %).
    assert.ok(falseWinners <= 5, `${falseWinners} of 40`);
  });

  test('the same data gives the same report (seeded)', () => {
    const feedback = synthetic(3, { a: { p: 0.5, mu: 3 }, b: { p: 0.52, mu: 3.05 } }, 200);
    assert.deepEqual(
      buildReport(experiment, traffic, feedback, metrics),
      buildReport(experiment, traffic, feedback, metrics),
    );
  });

  test('a variant alone with feedback is not named best (nothing to compare it with)', () => {
    // Four thumbs on b, none yet on a: b's posterior "wins" every draw against no one.
    const feedback = [aggregate('b', 'thumbs_up', [1, 1, 1, 0]), aggregate('a', 'rating', [1, 2, 3, 4, 5])];
    const report = buildReport(experiment, traffic, feedback, metrics);
    assert.equal(report.metrics.thumbs_up?.best, null);
    assert.equal(report.metrics.rating?.best, null);
    const [a, b] = report.variants;
    assert.equal(b?.feedback.thumbs_up?.probability_best, null);
    assert.equal(a?.feedback.rating?.probability_best, null);
    // The intervals are still reported: 3 of 4 (Wilson) and ratings 1..5 (t, 4 df).
    assert.equal(b?.feedback.thumbs_up?.mean, 0.75);
    const [wlo, whi] = b?.feedback.thumbs_up?.ci95 ?? [0, 0];
    assert.ok(Math.abs(wlo - 0.3006) < 1e-4 && Math.abs(whi - 0.9544) < 1e-4, `${wlo}..${whi}`);
    const [tlo, thi] = a?.feedback.rating?.ci95 ?? [0, 0];
    assert.ok(Math.abs(tlo - 1.0371) < 1e-4 && Math.abs(thi - 4.9629) < 1e-4, `${tlo}..${thi}`);
  });

  test('numeric values that do not vary: point masses when every variant is unanimous, else the pooled spread', () => {
    const numeric = {
      rating: metrics.rating,
      edit_distance: { type: 'numeric' as const, direction: 'lower' as const },
    };
    const report = (rows: VariantFeedback[]) => buildReport(experiment, [], rows, numeric);
    const p = (r: ReturnType<typeof report>, metric: string) =>
      r.variants.map((v) => v.feedback[metric]?.probability_best ?? null);

    // Three 5s against three 4s: both intervals have zero width, and a is better in every draw.
    const unanimous = report([
      aggregate('a', 'rating', [5, 5, 5]),
      aggregate('b', 'rating', [4, 4, 4]),
      aggregate('a', 'edit_distance', [1, 1, 1.01]),
      aggregate('b', 'edit_distance', [2, 2, 2.01]),
    ]);
    assert.deepEqual(unanimous.variants[0]?.feedback.rating?.ci95, [5, 5]);
    assert.deepEqual(p(unanimous, 'rating'), [1, 0]);
    assert.equal(unanimous.metrics.rating?.best, 'a');
    assert.deepEqual(p(unanimous, 'edit_distance'), [1, 0]);
    assert.equal(unanimous.metrics.edit_distance?.best, 'a');

    // The answer does not depend on the size of the values: ten 5s vs ten 1s, ten 2s vs ten 1s.
    for (const high of [5, 2]) {
      const r = report([
        aggregate('a', 'rating', Array(10).fill(high)),
        aggregate('b', 'rating', Array(10).fill(1)),
      ]);
      assert.deepEqual(p(r, 'rating'), [1, 0], `ten ${high}s`);
    }
    // The same unanimous value on both: a tie, shared, no winner.
    const tie = report([aggregate('a', 'rating', [4, 4]), aggregate('b', 'rating', [4, 4, 4])]);
    assert.deepEqual(p(tie, 'rating'), [0.5, 0.5]);
    assert.equal(tie.metrics.rating?.best, null);

    // Three 5s against 3, 4, 5: a borrows the pooled sd (√0.5), so P(a best) = Φ(1 / √(0.5/3 + 1/3)) ≈ 0.921.
    const pooled = p(
      report([aggregate('a', 'rating', [5, 5, 5]), aggregate('b', 'rating', [3, 4, 5])]),
      'rating',
    );
    assert.ok(Math.abs((pooled[0] ?? 0) - 0.9214) < 0.01, `${pooled}`);
    // One value against 3, 4, 5: its spread is b's (1): Φ(1 / √(1 + 1/3)) ≈ 0.807.
    const single = p(report([aggregate('a', 'rating', [5]), aggregate('b', 'rating', [3, 4, 5])]), 'rating');
    assert.ok(Math.abs((single[0] ?? 0) - 0.8068) < 0.01, `${single}`);
    // No variant with two values: nothing says how much ratings vary, so nothing is compared.
    const ones = report([aggregate('a', 'rating', [5]), aggregate('b', 'rating', [1])]);
    assert.deepEqual(p(ones, 'rating'), [null, null]);
    assert.equal(ones.metrics.rating?.best, null);
  });

  test('Wilson and t match known values', () => {
    const [lo, hi] = wilson(50, 100);
    assert.ok(Math.abs(lo - 0.4038) < 1e-3 && Math.abs(hi - 0.5962) < 1e-3);
    assert.equal(t95(10), 2.228);
    assert.ok(Math.abs(t95(120) - 1.98) < 0.005);
  });
});
