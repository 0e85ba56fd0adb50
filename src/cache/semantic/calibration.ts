/**
 * Choosing the verifier's operating point for a stated false-hit bound (decision 0116): on calibration pairs
 * the model never trained on, the lowest score threshold whose false-hit rate has a one-sided 95 %
 * Clopper-Pearson upper confidence bound at or under the bound. "False-hit rate" is the share of
 * non-duplicates that would be served; the margin means the observed rate sits below the bound, by more when
 * there are fewer calibration negatives.
 *
 * @example
 * clopperPearsonUpper(3, 1000); // ≈ 0.0077: 3 false hits in 1,000 negatives are compatible with 0.77 %
 * chooseThreshold(negativeScores, positiveScores, 0.01); // { threshold, falseHits, upperBound, hits, … }
 */

/** ln Γ(x) (Lanczos, g = 7), for x > 0. */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** P(X ≤ k) for X ~ Binomial(n, p). */
export function binomialCdf(k: number, n: number, p: number): number {
  if (k >= n || p <= 0) return 1;
  if (k < 0 || p >= 1) return k < 0 ? 0 : k >= n ? 1 : 0;
  const lnP = Math.log(p);
  const lnQ = Math.log1p(-p);
  const base = lnGamma(n + 1);
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += Math.exp(base - lnGamma(i + 1) - lnGamma(n - i + 1) + i * lnP + (n - i) * lnQ);
  }
  return Math.min(1, sum);
}

/** One-sided upper confidence bound (default 95 %) of a rate after `k` events in `n` trials (Clopper-Pearson). */
export function clopperPearsonUpper(k: number, n: number, confidence = 0.95): number {
  if (n <= 0) return 1;
  if (k >= n) return 1;
  const alpha = 1 - confidence;
  let lo = k / n;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(k, n, mid) > alpha) lo = mid;
    else hi = mid;
  }
  return hi;
}

export interface ThresholdChoice {
  /** Accept scores ≥ threshold; above 1 when no threshold meets the bound (nothing is served). */
  threshold: number;
  falseHits: number;
  negatives: number;
  hits: number;
  positives: number;
  /** The upper confidence bound of the false-hit rate at the threshold. */
  upperBound: number;
}

/** Most false hits among `n` negatives whose upper confidence bound stays at or under `bound` (-1: none). */
export function allowedFalseHits(n: number, bound: number, confidence = 0.95): number {
  let k = -1;
  while (k + 1 < n && clopperPearsonUpper(k + 1, n, confidence) <= bound) k++;
  return k;
}

/**
 * The lowest threshold (most hits) whose calibration false-hit rate has an upper confidence bound ≤ `bound`.
 * Ties at the cut are all refused, so the count of false hits never exceeds the allowed number.
 */
export function chooseThreshold(
  negativeScores: readonly number[],
  positiveScores: readonly number[],
  bound: number,
  confidence = 0.95,
): ThresholdChoice {
  const negatives = [...negativeScores].sort((a, b) => b - a);
  const k = allowedFalseHits(negatives.length, bound, confidence);
  // Accepting the k highest-scoring negatives: the threshold sits just above the (k+1)-th (index k).
  // No negatives, or not even zero false hits meet the bound: a threshold above every score serves nothing.
  const threshold = k < 0 ? NOTHING : next(negatives[k]!);
  const falseHits = negatives.filter((s) => s >= threshold).length;
  return {
    threshold,
    falseHits,
    negatives: negatives.length,
    hits: positiveScores.filter((s) => s >= threshold).length,
    positives: positiveScores.length,
    upperBound: clopperPearsonUpper(falseHits, negatives.length, confidence),
  };
}

/** A threshold no score in [0, 1] reaches. */
const NOTHING = 1.000001;

/** The smallest double above `x` by a margin that survives JSON round trips. */
function next(x: number): number {
  return x + Math.max(1e-12, Math.abs(x) * 1e-12);
}
