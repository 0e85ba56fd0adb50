/**
 * The match verifier (DESIGN §6, decisions 0115–0116): a small gradient-boosted tree model over
 * `verifierFeatures` that scores a (query, cached) pair with the probability that the cached answer may
 * answer the query. The model, its list of common words and its operating points (a score threshold for each
 * false-hit bound, chosen on calibration data with a Clopper-Pearson margin) ship as a versioned artefact,
 * `verifier-model.json`, written by `npm run train:verifier`.
 *
 * @example
 * const verifier = createVerifier(readVerifierArtefact(file), { maxFalseHitRate: 0.01 });
 * verifier.judge('How do I cancel my plan?', 'How can I cancel my plan?', 0.93); // { accepted: true, score: 0.97 }
 */
import { readFileSync } from 'node:fs';
import { createPairModel, type PairModelArtefact } from './pair-model.js';
import type { MatchGuard, MatchJudgement, PairVectors } from './types.js';
import { FEATURE_NAMES, type Vocabulary, verifierFeatures } from './verifier-features.js';

/** The trees' input after the text features when the artefact has a pair model: the pair model's margin. */
export const PAIR_FEATURE = 'pairMargin';

/**
 * One regression tree as a complete binary tree in arrays: internal node `i` sends a row left when
 * `x[feature[i]] <= threshold[i]` (children `2i+1`, `2i+2`; feature -1 = always left); `leaves` hold the
 * (learning-rate scaled) values, left to right.
 */
export interface VerifierTree {
  feature: number[];
  threshold: number[];
  leaves: number[];
}

/** A score threshold for one false-hit bound (see calibration.ts for how it is chosen). */
export interface OperatingPoint {
  /** The stated bound on the false-hit rate (share of non-duplicates served). */
  bound: number;
  /** The lowest verifier score accepted. */
  threshold: number;
  /** Calibration counts at that threshold and the 95 % upper confidence bound of the false-hit rate. */
  falseHits: number;
  negatives: number;
  hits: number;
  positives: number;
  upperBound: number;
}

export interface VerifierArtefact {
  /** Bumped whenever the features, the training data or the model change. */
  version: string;
  /** The embedder whose cosines the model was trained on (another embedder has other cosines). */
  embedder: string;
  features: string[];
  model: { kind: 'gbt'; depth: number; base: number; trees: VerifierTree[] };
  /** Logistic regression over the two vectors (decision 0161); its margin is the trees' last input. */
  pairModel?: PairModelArtefact;
  /** Candidates below this cosine are not scored (the search cut-off). */
  minCosine: number;
  /** Frequent words of the training texts and their inverse document frequencies (parallel arrays). */
  vocabulary: { words: string[]; idf: number[]; unknownIdf: number };
  operatingPoints: OperatingPoint[];
  training: Record<string, unknown>;
}

/** An artefact from a file (the shipped one is imported by parts.ts). */
export function readVerifierArtefact(file: URL | string): VerifierArtefact {
  const artefact = JSON.parse(readFileSync(file, 'utf8')) as VerifierArtefact;
  checkArtefact(artefact);
  return artefact;
}

function checkArtefact(a: VerifierArtefact): void {
  if (a.model?.kind !== 'gbt' || !Array.isArray(a.model.trees) || a.model.trees.length === 0)
    throw new Error('verifier artefact has no gbt model');
  const expected = a.pairModel ? [...FEATURE_NAMES, PAIR_FEATURE] : [...FEATURE_NAMES];
  if (a.features.join(',') !== expected.join(','))
    throw new Error(
      `verifier artefact ${a.version} was trained on other features; run npm run train:verifier`,
    );
  if (!Array.isArray(a.operatingPoints) || a.operatingPoints.length === 0)
    throw new Error('verifier artefact has no operating points');
}

/** The model's raw margin for one feature vector (before the logistic function). */
export function treeMargin(model: VerifierArtefact['model'], x: Float64Array): number {
  let sum = model.base;
  const internal = 2 ** model.depth - 1;
  for (const tree of model.trees) {
    let i = 0;
    while (i < internal) {
      const f = tree.feature[i]!;
      i = f < 0 || x[f]! <= tree.threshold[i]! ? 2 * i + 1 : 2 * i + 2;
    }
    sum += tree.leaves[i - internal]!;
  }
  return sum;
}

/**
 * The operating point for a requested bound: the one with the largest bound not above it (never a looser
 * one); the tightest when the request is below every calibrated bound.
 */
export function pickOperatingPoint(
  points: readonly OperatingPoint[],
  maxFalseHitRate: number,
): OperatingPoint {
  const sorted = [...points].sort((a, b) => a.bound - b.bound);
  let chosen = sorted[0]!;
  for (const p of sorted) if (p.bound <= maxFalseHitRate + 1e-12) chosen = p;
  return chosen;
}

export interface MatchVerifier extends MatchGuard {
  readonly version: string;
  readonly operatingPoint: OperatingPoint;
  /**
   * The probability-like score in [0, 1] of the pair (before the threshold). With a pair model the two
   * vectors are required: without them the pair scores 0 (refused), never a score the calibration did not
   * measure.
   */
  score(queryText: string, cachedText: string, cosine: number, vectors?: PairVectors): number;
}

/** Lower case, sentence punctuation and spacing dropped; symbols that carry meaning (C++, C#, 3.5, $, %) kept. */
function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/(?<!\d)[.,](?!\d)|[\s;:!?'"“”‘’()[\]{}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Creates the verifier for a false-hit bound from an artefact. Texts equal but for case, punctuation and
 * spacing score 1 (the model never sees them; calibration counts them like any other pair).
 */
export function createVerifier(
  artefact: VerifierArtefact,
  options: { maxFalseHitRate: number },
): MatchVerifier {
  checkArtefact(artefact);
  const vocabulary: Vocabulary = {
    idf: new Map(artefact.vocabulary.words.map((w, i) => [w, artefact.vocabulary.idf[i]!])),
    unknown: artefact.vocabulary.unknownIdf,
  };
  const point = pickOperatingPoint(artefact.operatingPoints, options.maxFalseHitRate);
  const pair = artefact.pairModel ? createPairModel(artefact.pairModel) : null;
  const score = (queryText: string, cachedText: string, cosine: number, vectors?: PairVectors): number => {
    // The same words in the same order (only case, punctuation or spacing differ): the same prompt.
    if (normalise(queryText) === normalise(cachedText)) return 1;
    if (!(cosine >= artefact.minCosine)) return 0;
    const x = verifierFeatures(queryText, cachedText, cosine, vocabulary, pair ? 1 : 0);
    if (pair) {
      if (vectors?.query.length !== pair.dimensions || vectors.cached.length !== pair.dimensions) return 0;
      x[FEATURE_NAMES.length] = pair.margin(vectors.query, vectors.cached);
    }
    return 1 / (1 + Math.exp(-treeMargin(artefact.model, x)));
  };
  const judge = (queryText: string, cachedText: string, cosine: number, vectors?: PairVectors) => {
    const s = score(queryText, cachedText, cosine, vectors);
    return { accepted: s >= point.threshold, score: s } satisfies MatchJudgement;
  };
  return {
    version: artefact.version,
    operatingPoint: point,
    threshold: artefact.minCosine,
    needsVectors: pair !== null,
    score,
    judge,
    accept: (queryText, cachedText, cosine, vectors) =>
      judge(queryText, cachedText, cosine, vectors).accepted,
    describe: () => ({
      kind: 'verifier',
      version: artefact.version,
      max_false_hit_rate: point.bound,
      score_threshold: point.threshold,
      min_cosine: artefact.minCosine,
    }),
  };
}
