/**
 * The evaluation's arithmetic: pair classification counts, per-rule counts and the cache simulation.
 */
import { dot } from '../../src/cache/semantic/embedders.js';
import type { ExplainingMatchGuard } from '../../src/cache/semantic/guards.js';
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
    // The vectors too: a matcher with a pair model scores them (the others ignore them).
    if (!guard.accept(p.b, p.a, dot(vec(p.a), vec(p.b)), { query: vec(p.b), cached: vec(p.a) })) continue;
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

/** Every simulation query with its candidate entries (score ≥ the lowest threshold of the grid), best first. */
export interface PreparedSimulation {
  entries: readonly string[];
  vectors: readonly Float32Array[];
  /** query text, the entry it should hit (-1 for a distractor), candidates. */
  queries: {
    text: string;
    vector: Float32Array;
    expected: number;
    candidates: { i: number; s: number }[];
  }[];
}

/** Scores every query against every entry once, so each setting of the grid only filters. */
export function prepareSimulation(
  mock: readonly MockPair[],
  distractors: readonly string[],
  vec: Vectors,
  minScore: number,
): PreparedSimulation {
  const entries = mock.map((m) => m.origin);
  const vectors = entries.map((e) => vec(e));
  const prepare = (text: string, expected: number) => {
    const qv = vec(text);
    const candidates: { i: number; s: number }[] = [];
    vectors.forEach((v, i) => {
      const s = dot(qv, v);
      if (s >= minScore) candidates.push({ i, s });
    });
    candidates.sort((x, y) => y.s - x.s);
    return { text, vector: qv, expected, candidates };
  };
  return {
    entries,
    vectors,
    queries: [...mock.map((m, i) => prepare(m.similar, i)), ...distractors.map((d) => prepare(d, -1))],
  };
}

/**
 * Cache simulation: every `origin` is an entry; every `similar` is a query that should hit its origin, every
 * distractor a query that should miss. The top candidates above the guard's cut-off are offered to the guard
 * in order of score; the first accepted one is served.
 */
export function simulateCache(sim: PreparedSimulation, guard: MatchGuard): SimulationScores {
  let right = 0;
  let wrong = 0;
  let distractorHits = 0;
  let queries = 0;
  let distractors = 0;
  for (const q of sim.queries) {
    if (q.expected >= 0) queries++;
    else distractors++;
    let served = -1;
    const offered = q.candidates.filter((c) => c.s >= guard.threshold).slice(0, SIMULATION_CANDIDATES);
    for (const c of offered) {
      if (guard.accept(q.text, sim.entries[c.i]!, c.s, { query: q.vector, cached: sim.vectors[c.i]! })) {
        served = c.i;
        break;
      }
    }
    if (served < 0) continue;
    if (q.expected < 0) distractorHits++;
    else if (served === q.expected) right++;
    else wrong++;
  }
  const served = right + wrong + distractorHits;
  return {
    hitRate: right / queries,
    wrongHitRate: wrong / queries,
    distractorHitRate: distractorHits / distractors,
    precision: served === 0 ? 1 : right / served,
    queries,
    distractors,
  };
}

/** How many duplicates and non-duplicates the guard turned away for each reason (pairs above its cut-off). */
export function verdictCounts(
  pairs: readonly Pair[],
  vec: Vectors,
  guard: ExplainingMatchGuard,
): Record<string, { duplicates: number; nonDuplicates: number }> {
  const out: Record<string, { duplicates: number; nonDuplicates: number }> = {};
  for (const p of pairs) {
    const verdict = guard.explain(p.b, p.a, dot(vec(p.a), vec(p.b)));
    if (verdict === 'below threshold' || verdict === 'accepted') continue;
    out[verdict] ??= { duplicates: 0, nonDuplicates: 0 };
    if (p.same) out[verdict].duplicates++;
    else out[verdict].nonDuplicates++;
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
