import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createPairModel } from './pair-model.js';
import {
  createVerifier,
  type OperatingPoint,
  PAIR_FEATURE,
  pickOperatingPoint,
  type VerifierArtefact,
} from './verifier.js';
import { FEATURE_NAMES } from './verifier-features.js';
import shipped from './verifier-model.json' with { type: 'json' };

const artefact = shipped as unknown as VerifierArtefact;

/**
 * Pairs with the cosine the local USE-Lite embedder gives them (vendored, so this test needs no model): the
 * shipped verifier at the default bound must serve the paraphrases and refuse the near misses.
 */
const PARAPHRASES: [string, string, number][] = [
  ['How should I learn Python?', "What's the best way to learn Python?", 0.9591],
  ['what is the capital of france', 'What is the capital of France?', 0.9186],
  ['How do I reset my password', 'How do I reset my password?', 0.9766],
];
const NEAR_MISSES: [string, string, number][] = [
  ['How do I upgrade my subscription?', 'How do I cancel my subscription?', 0.8431],
  ['Find hotels in Rome', 'Find hotels in Paris', 0.8398],
  ['How many calories are in 3 eggs?', 'How many calories are in 2 eggs?', 0.9987],
  ['Cheapest flight from Rome to Paris on Friday', 'Cheapest flight from Paris to Rome on Friday', 0.9966],
];

describe('match verifier', () => {
  const verifier = createVerifier(artefact, { maxFalseHitRate: 0.01 });

  test('the shipped artefact matches the feature list and has an operating point for the default bound', () => {
    assert.deepEqual(artefact.features, [...FEATURE_NAMES]);
    assert.equal(verifier.operatingPoint.bound, 0.01);
    assert.ok(verifier.operatingPoint.upperBound <= 0.01);
    assert.equal(verifier.describe?.().kind, 'verifier');
  });

  test('serves paraphrases and refuses near misses at the default bound', () => {
    for (const [q, c, cos] of PARAPHRASES) {
      const j = verifier.judge!(q, c, cos);
      assert.equal(j.accepted, true, `${q} / ${c}: ${j.score}`);
      assert.ok(j.score >= verifier.operatingPoint.threshold && j.score <= 1);
    }
    for (const [q, c, cos] of NEAR_MISSES) {
      const j = verifier.judge!(q, c, cos);
      assert.equal(j.accepted, false, `${q} / ${c}: ${j.score}`);
    }
  });

  test('below the cut-off cosine nothing is scored; the same text up to case and punctuation scores 1', () => {
    assert.equal(verifier.score('a b', 'a c', artefact.minCosine - 0.01), 0);
    assert.equal(verifier.score('Is it safe?', 'is it  safe', 0.5), 1);
    assert.notEqual(verifier.score('What is C++?', 'What is C?', 0.5), 1);
    assert.notEqual(verifier.score('Is 3.5 enough?', 'Is 35 enough?', 0.5), 1);
    assert.equal(verifier.threshold, artefact.minCosine);
  });

  test('a tighter bound never accepts more', () => {
    const strict = createVerifier(artefact, { maxFalseHitRate: 0.002 });
    assert.ok(strict.operatingPoint.threshold >= verifier.operatingPoint.threshold);
  });

  test('operating point: the largest calibrated bound not above the request, else the tightest', () => {
    const point = (bound: number): OperatingPoint => ({
      bound,
      threshold: 1 - bound,
      falseHits: 0,
      negatives: 0,
      hits: 0,
      positives: 0,
      upperBound: bound,
    });
    const points = [point(0.05), point(0.01), point(0.02)];
    assert.equal(pickOperatingPoint(points, 0.01).bound, 0.01);
    assert.equal(pickOperatingPoint(points, 0.015).bound, 0.01);
    assert.equal(pickOperatingPoint(points, 0.5).bound, 0.05);
    assert.equal(pickOperatingPoint(points, 0.001).bound, 0.01);
  });

  test('an artefact for other features is refused', () => {
    assert.throws(
      () => createVerifier({ ...artefact, features: ['cosine'] }, { maxFalseHitRate: 0.01 }),
      /other features/,
    );
  });
});

describe('match verifier with a pair model', () => {
  const DIMS = 4;
  const unit = (...xs: number[]) => {
    const n = Math.hypot(...xs);
    return Float32Array.from(xs, (x) => x / n);
  };
  // One tree splitting on the pair margin only: margin ≤ 0 → −4 (refuse), above → +4 (serve).
  const pairTree = {
    feature: [FEATURE_NAMES.length, -1, -1],
    threshold: [0, 0, 0],
    leaves: [-4, -4, 4, 4],
  };
  // The margin is 10·Σ u[i]·v[i] − 10·Σ|u[i] − v[i]| − 5: high for close vectors, negative for far ones.
  const withPair: VerifierArtefact = {
    ...artefact,
    features: [...FEATURE_NAMES, PAIR_FEATURE],
    model: { kind: 'gbt', depth: 2, base: 0, trees: [pairTree] },
    pairModel: {
      kind: 'logistic',
      dimensions: DIMS,
      product: [10, 10, 10, 10],
      difference: [-10, -10, -10, -10],
      bias: -5,
    },
    minCosine: 0,
    operatingPoints: [
      { bound: 0.01, threshold: 0.5, falseHits: 0, negatives: 1, hits: 0, positives: 1, upperBound: 0.01 },
    ],
  };
  const verifier = createVerifier(withPair, { maxFalseHitRate: 0.01 });
  const close = { query: unit(1, 0.1, 0, 0), cached: unit(1, 0.12, 0, 0) };
  const far = { query: unit(1, 0, 0, 0), cached: unit(0, 1, 0, 0) };

  test('the pair margin of the two vectors decides; the verifier asks the cache for the vectors', () => {
    assert.equal(verifier.needsVectors, true);
    assert.equal(createVerifier(artefact, { maxFalseHitRate: 0.01 }).needsVectors, false);
    assert.equal(verifier.judge!('How do I cancel?', 'How can I cancel?', 0.9, close).accepted, true);
    assert.equal(verifier.judge!('How do I cancel?', 'How can I cancel?', 0.9, far).accepted, false);
    assert.equal(verifier.accept('How do I cancel?', 'How can I cancel?', 0.9, close), true);
  });

  test('without the vectors (or with vectors of another size) a pair is refused, not scored without them', () => {
    assert.equal(verifier.score('How do I cancel?', 'How can I cancel?', 0.9), 0);
    const short = { query: unit(1, 0), cached: unit(1, 0) };
    assert.equal(verifier.score('How do I cancel?', 'How can I cancel?', 0.9, short), 0);
    // The same text up to case and punctuation still scores 1 without vectors.
    assert.equal(verifier.score('Is it safe?', 'is it safe', 0.9), 1);
  });

  test('the pair model is symmetric and its margin is the weights applied to [u ⊙ v, |u − v|]', () => {
    const model = createPairModel(withPair.pairModel!);
    const expected = (u: Float32Array, v: Float32Array) =>
      -5 + u.reduce((s, x, i) => s + 10 * x * v[i]! - 10 * Math.abs(x - v[i]!), 0);
    assert.ok(Math.abs(model.margin(far.query, far.cached) - expected(far.query, far.cached)) < 1e-9);
    assert.equal(model.margin(close.query, close.cached), model.margin(close.cached, close.query));
  });

  test('an artefact whose features do not name the pair margin, or with a malformed pair model, is refused', () => {
    assert.throws(
      () => createVerifier({ ...withPair, features: [...FEATURE_NAMES] }, { maxFalseHitRate: 0.01 }),
      /other features/,
    );
    assert.throws(
      () =>
        createVerifier(
          { ...withPair, pairModel: { ...withPair.pairModel!, product: [1, 2] } },
          { maxFalseHitRate: 0.01 },
        ),
      /malformed pair model/,
    );
  });
});
