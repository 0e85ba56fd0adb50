import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createVerifier,
  type OperatingPoint,
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
