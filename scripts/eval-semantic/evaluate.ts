/**
 * The evaluation's arithmetic: pair classification counts, per-rule counts and the cache simulation.
 */
import { dot } from '../../src/cache/semantic/embedders.js';
import {
  firstBrokenRule,
  GUARD_RULES,
  type GuardRule,
  pairFeatures,
} from '../../src/cache/semantic/guards.js';
import type { MatchGuard } from '../../src/cache/semantic/types.js';
import type { MockPair, Pair } from './data.js';

export type Vectors = (text: string) => Float32Array;

export interface PairScores {
  precision: number;
  /** Hit rate on true duplicates. */
  recall: number;
  /** Share of non-duplicates that would be served from the cache. */
  falseHitRate: number;
  tp: number;
  fp: number;
  positives: number;
  negatives: number;
}

/** Each pair as (cached = a, query = b): would the cache serve a's answer for b? */
export function scorePairs(pairs: readonly Pair[], vec: Vectors, guard: MatchGuard): PairScores {
  let tp = 0;
  let fp = 0;
  let positives = 0;
  for (const p of pairs) {
    if (p.same) positives++;
    if (!guard.accept(p.b, p.a, dot(vec(p.a), vec(p.b)))) continue;
    if (p.same) tp++;
    else fp++;
  }
  const negatives = pairs.length - positives;
  return {
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: positives === 0 ? 0 : tp / positives,
    falseHitRate: negatives === 0 ? 0 : fp / negatives,
    tp,
    fp,
    positives,
    negatives,
  };
}

export interface SimulationScores {
  /** Paraphrase queries answered with their own origin's entry. */
  hitRate: number;
  /** Paraphrase queries answered with another origin's entry. */
  wrongHitRate: number;
  /** Unrelated (distractor) queries answered from the cache. */
  distractorHitRate: number;
  /** Share of served answers that were the right entry. */
  precision: number;
  queries: number;
  distractors: number;
}

/** How many of the best candidates above the cut-off the cache offers the guard, best first. */
export const SIMULATION_CANDIDATES = 3;

/**
 * Cache simulation: every `origin` is an entry; every `similar` is a query that should hit its origin, every
 * distractor a query that should miss. The top candidates above the threshold are offered to the guard in
 * order of score; the first accepted one is served.
 */
export function simulateCache(
  mock: readonly MockPair[],
  distractors: readonly string[],
  vec: Vectors,
  guard: MatchGuard,
): SimulationScores {
  const entries = mock.map((m) => ({ text: m.origin, v: vec(m.origin) }));
  const serve = (query: string): number => {
    const qv = vec(query);
    const candidates: { i: number; s: number }[] = [];
    entries.forEach((e, i) => {
      const s = dot(qv, e.v);
      if (s >= guard.threshold) candidates.push({ i, s });
    });
    candidates.sort((x, y) => y.s - x.s);
    for (const c of candidates.slice(0, SIMULATION_CANDIDATES)) {
      if (guard.accept(query, entries[c.i]!.text, c.s)) return c.i;
    }
    return -1;
  };
  let right = 0;
  let wrong = 0;
  mock.forEach((m, i) => {
    const served = serve(m.similar);
    if (served === i) right++;
    else if (served >= 0) wrong++;
  });
  let distractorHits = 0;
  for (const d of distractors) if (serve(d) >= 0) distractorHits++;
  const served = right + wrong + distractorHits;
  return {
    hitRate: right / mock.length,
    wrongHitRate: wrong / mock.length,
    distractorHitRate: distractorHits / distractors.length,
    precision: served === 0 ? 1 : right / served,
    queries: mock.length,
    distractors: distractors.length,
  };
}

/** Among pairs at or above `threshold`: how many duplicates and non-duplicates each rule rejects first. */
export function ruleCounts(
  pairs: readonly Pair[],
  vec: Vectors,
  threshold: number,
): Record<GuardRule, { duplicates: number; nonDuplicates: number }> {
  const out = Object.fromEntries(GUARD_RULES.map((r) => [r, { duplicates: 0, nonDuplicates: 0 }])) as Record<
    GuardRule,
    { duplicates: number; nonDuplicates: number }
  >;
  const all = new Set(GUARD_RULES);
  for (const p of pairs) {
    const cos = dot(vec(p.a), vec(p.b));
    if (cos < threshold) continue;
    const rule = firstBrokenRule(pairFeatures(p.b, p.a, cos), all);
    if (rule === null) continue;
    if (p.same) out[rule].duplicates++;
    else out[rule].nonDuplicates++;
  }
  return out;
}

/**
 * The highest hit rate whose false-hit rate stays at or under `maxFalseHitRate`, over thresholds 0.80–1.00 in
 * steps of 0.005 (used on the tuning half only).
 */
export function bestThreshold(
  pairs: readonly Pair[],
  vec: Vectors,
  makeGuard: (threshold: number) => MatchGuard,
  maxFalseHitRate: number,
): { threshold: number; scores: PairScores } | null {
  let best: { threshold: number; scores: PairScores } | null = null;
  for (let i = 0; i <= 40; i++) {
    const threshold = Number((0.8 + i * 0.005).toFixed(3));
    const scores = scorePairs(pairs, vec, makeGuard(threshold));
    if (scores.falseHitRate <= maxFalseHitRate && (!best || scores.recall > best.scores.recall)) {
      best = { threshold, scores };
    }
  }
  return best;
}
