import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FEATURE_NAMES, type FeatureName, type Vocabulary, verifierFeatures } from './verifier-features.js';

const vocabulary: Vocabulary = {
  idf: new Map([
    ['how', 0.5],
    ['do', 0.5],
    ['i', 0.4],
    ['my', 0.6],
    ['cancel', 4],
    ['upgrade', 4],
    ['subscription', 3],
    ['from', 1],
    ['to', 0.8],
  ]),
  unknown: 8,
};
const f = (q: string, c: string, name: FeatureName, cosine = 0.95) =>
  verifierFeatures(q, c, cosine, vocabulary)[FEATURE_NAMES.indexOf(name)];

describe('verifier features', () => {
  test('one value per feature name, the cosine first', () => {
    const x = verifierFeatures('a b', 'a b', 0.9, vocabulary);
    assert.equal(x.length, FEATURE_NAMES.length);
    assert.equal(x[0], 0.9);
  });

  test('identical texts: full overlap, nothing differs', () => {
    const t = 'How do I cancel my subscription?';
    for (const name of [
      'stemJaccard',
      'wordJaccard',
      'bigramJaccard',
      'trigramJaccard',
      'lengthRatio',
      'idfOverlap',
    ] as const)
      assert.equal(f(t, t, name), 1, name);
    for (const name of [
      'onlyQuery',
      'onlyCached',
      'substitution',
      'numbersDiffer',
      'negationMismatch',
      'roleSwap',
      'rareDiffer',
      'idfDiffSum',
    ] as const)
      assert.equal(f(t, t, name), 0, name);
  });

  test('a swapped action is a substitution weighted by its rarity', () => {
    const q = 'How do I cancel my subscription?';
    const c = 'How do I upgrade my subscription?';
    assert.equal(f(q, c, 'substitution'), 1);
    assert.equal(f(q, c, 'idfDiffMax'), 4);
    assert.equal(f(q, c, 'idfDiffSum'), 8);
    assert.ok(f(q, c, 'idfOverlap')! < 1);
    assert.equal(f(q, c, 'rareDiffer'), 0, 'both words are in the vocabulary');
  });

  test('numbers, units, dates, negation and unknown words that differ', () => {
    assert.equal(f('calories in 2 eggs', 'calories in 3 eggs', 'numbersDiffer'), 2);
    assert.equal(f('convert 5 km to miles', 'convert 5 kg to miles', 'unitMismatch'), 1);
    assert.equal(f('weather in Oslo on Monday', 'weather in Oslo on Friday', 'dateMismatch'), 1);
    assert.equal(f('is it safe to swim', 'is it not safe to swim', 'negationMismatch'), 1);
    assert.equal(f('hotels in Jabalpur', 'hotels in Shimla', 'rareDiffer'), 2);
    assert.equal(f('hotels in Jabalpur', 'hotels in Shimla', 'entityMismatch'), 1);
  });

  test('a role swap needs a relational word and another order of the shared words', () => {
    assert.equal(f('flights from Paris to Rome', 'flights from Rome to Paris', 'roleSwap'), 1);
    assert.equal(f('flights from Paris to Rome', 'flights from Paris to Rome tomorrow', 'roleSwap'), 0);
    assert.equal(f('Paris Rome flights', 'Rome Paris flights', 'roleSwap'), 0, 'no relational word');
  });

  test('length ratio and the shorter length in words', () => {
    assert.equal(f('a b c d', 'a b', 'lengthRatio'), 0.5);
    assert.equal(f('a b c d', 'a b', 'shorterLength'), 2);
  });
});
