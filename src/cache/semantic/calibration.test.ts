import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allowedFalseHits, binomialCdf, chooseThreshold, clopperPearsonUpper } from './calibration.js';

describe('calibration', () => {
  test('binomial CDF matches hand-computed values', () => {
    // P(X ≤ 1) for n = 3, p = 0.5: (1 + 3) / 8.
    assert.ok(Math.abs(binomialCdf(1, 3, 0.5) - 0.5) < 1e-12);
    assert.ok(Math.abs(binomialCdf(0, 10, 0.1) - 0.9 ** 10) < 1e-12);
    assert.equal(binomialCdf(10, 10, 0.3), 1);
  });

  test('Clopper-Pearson upper bound: zero events gives 1 - alpha^(1/n), and it shrinks with more trials', () => {
    assert.ok(Math.abs(clopperPearsonUpper(0, 100) - (1 - 0.05 ** (1 / 100))) < 1e-9);
    // The classic "rule of three": ≈ 3/n for zero events.
    assert.ok(Math.abs(clopperPearsonUpper(0, 3000) - 3 / 3000) < 1e-4);
    const u = clopperPearsonUpper(5, 1000);
    assert.ok(u > 0.005 && u < 0.0116, String(u));
    assert.ok(clopperPearsonUpper(50, 10_000) < u);
  });

  test('allowed false hits: the most whose upper bound stays under the bound', () => {
    const k = allowedFalseHits(1000, 0.01);
    assert.ok(clopperPearsonUpper(k, 1000) <= 0.01);
    assert.ok(clopperPearsonUpper(k + 1, 1000) > 0.01);
    // 100 negatives cannot show a 1 % bound at 95 % confidence, even with no false hit.
    assert.equal(allowedFalseHits(100, 0.01), -1);
  });

  test('the threshold admits exactly the allowed number of negatives and every positive above it', () => {
    const negatives = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const positives = [0.2, 0.9995, 0.99, 0.999];
    const choice = chooseThreshold(negatives, positives, 0.01);
    const k = allowedFalseHits(1000, 0.01);
    assert.equal(choice.falseHits, k);
    assert.equal(negatives.filter((s) => s >= choice.threshold).length, k);
    assert.ok(choice.upperBound <= 0.01);
    assert.equal(choice.hits, positives.filter((s) => s >= choice.threshold).length);
  });

  test('too few negatives for the bound: nothing is served', () => {
    const choice = chooseThreshold([0.1, 0.2], [0.9], 0.01);
    assert.ok(choice.threshold > 1);
    assert.equal(choice.hits, 0);
  });
});
