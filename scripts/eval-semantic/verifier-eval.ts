/**
 * The verifier's part of `npm run eval:semantic`: the ablation at the default false-hit bound — cosine only
 * (its threshold calibrated like the verifier's, on the same calibration pairs), the rule-based guards of the
 * first version, and the verifier — on held-out QQP, STS-B, MRPC, the LLM-style pairs' held-out families and
 * the cache simulation; the verifier at every calibrated bound; and its cost per candidate.
 */
import { chooseThreshold } from '../../src/cache/semantic/calibration.js';
import { dot } from '../../src/cache/semantic/embedders.js';
import { createMatchGuard } from '../../src/cache/semantic/guards.js';
import type { MatchGuard } from '../../src/cache/semantic/types.js';
import { createVerifier, type VerifierArtefact } from '../../src/cache/semantic/verifier.js';
import { type Pair, tuningRole } from './data.js';
import {
  type PairScores,
  type PreparedSimulation,
  type SimulationScores,
  scorePairs,
  simulateCache,
  type Vectors,
} from './evaluate.js';
import type { LabelledLlmPair } from './llm-data.js';

export const DEFAULT_BOUND = 0.01;

export interface VerifierEvalInput {
  artefact: VerifierArtefact;
  /** Another artefact to compare with the shipped one (e.g. `npm run train:verifier -- --pair`), when given. */
  compare?: VerifierArtefact;
  vec: Vectors;
  /** QQP tuning half as the training script read it (only its calibration part is used here). */
  qqpTuning: readonly Pair[];
  qqpHeldOut: readonly Pair[];
  stsb: readonly Pair[];
  mrpc: readonly Pair[];
  llm: readonly LabelledLlmPair[];
  simulation: PreparedSimulation;
}

export interface SettingResult {
  label: string;
  qqp: PairScores;
  stsb: PairScores;
  mrpc: PairScores;
  llm: PairScores;
  /** Share of each near-miss kind served (and of paraphrases hit), LLM-style held-out families. */
  llmByKind: Record<string, { pairs: number; served: number }>;
  simulation: SimulationScores;
}

export interface VerifierEvalResult {
  bound: number;
  cosineThreshold: number;
  settings: SettingResult[];
  byBound: { bound: number; threshold: number; qqp: PairScores; llm: PairScores }[];
  /**
   * Mean CPU microseconds to score one candidate (features, pair model, trees), the guards' and the compared
   * verifier's for comparison.
   */
  microsPerCandidate: { verifier: number; guards: number; compare?: number };
}

function byKind(pairs: readonly LabelledLlmPair[], vec: Vectors, guard: MatchGuard) {
  const out: Record<string, { pairs: number; served: number }> = {};
  for (const p of pairs) {
    out[p.kind] ??= { pairs: 0, served: 0 };
    out[p.kind]!.pairs++;
    if (guard.accept(p.b, p.a, dot(vec(p.a), vec(p.b)), { query: vec(p.b), cached: vec(p.a) }))
      out[p.kind]!.served++;
  }
  return out;
}

function timePerPair(pairs: readonly Pair[], vec: Vectors, guard: MatchGuard): number {
  const cos = pairs.map((p) => dot(vec(p.a), vec(p.b)));
  const vectors = pairs.map((p) => ({ query: vec(p.b), cached: vec(p.a) }));
  let sink = 0;
  for (let i = 0; i < Math.min(500, pairs.length); i++)
    sink += guard.accept(pairs[i]!.b, pairs[i]!.a, 0.99, vectors[i]) ? 1 : 0;
  // CPU time, not wall time: on a shared machine the wall clock also counts waiting for a core.
  const started = process.cpuUsage();
  const reps = 3;
  for (let r = 0; r < reps; r++) {
    pairs.forEach((p, i) => {
      // Scored at a cosine the cut-off lets through, so every pair costs the full work.
      sink += guard.accept(p.b, p.a, Math.max(cos[i]!, 0.99), vectors[i]) ? 1 : 0;
    });
  }
  if (sink < 0) throw new Error('unreachable');
  const used = process.cpuUsage(started);
  return (used.user + used.system) / (reps * pairs.length);
}

export function evaluateVerifier(input: VerifierEvalInput): VerifierEvalResult {
  const { vec, artefact } = input;
  const llmHeldOut = input.llm.filter((p) => p.split === 'held-out');
  const calibration = [
    ...input.qqpTuning.filter((p) => tuningRole(p) === 'calibration'),
    ...input.llm.filter((p) => p.split === 'tuning' && tuningRole(p) === 'calibration'),
  ];
  const cos = (p: Pair) => dot(vec(p.a), vec(p.b));
  const cosineChoice = chooseThreshold(
    calibration.filter((p) => !p.same).map(cos),
    calibration.filter((p) => p.same).map(cos),
    DEFAULT_BOUND,
  );
  const cosineThreshold = Math.min(cosineChoice.threshold, 1);
  const settings: [string, MatchGuard][] = [
    [
      `cosine only (cos ≥ ${cosineThreshold.toFixed(4)}, calibrated for 1 %)`,
      createMatchGuard({ rules: [], threshold: cosineThreshold }),
    ],
    ['rule-based guards (first version, default)', createMatchGuard()],
    ...(input.compare
      ? ([
          [
            `verifier ${input.compare.version}${input.compare.pairModel ? ' with pair model' : ''} (compared, not shipped) at 1 %`,
            createVerifier(input.compare, { maxFalseHitRate: DEFAULT_BOUND }),
          ],
        ] as [string, MatchGuard][])
      : []),
    [
      `verifier ${artefact.version}${artefact.pairModel ? ' (with pair model)' : ''} at 1 %`,
      createVerifier(artefact, { maxFalseHitRate: DEFAULT_BOUND }),
    ],
  ];
  const verifier = settings[settings.length - 1]![1];
  const results = settings.map(([label, guard]) => ({
    label,
    qqp: scorePairs(input.qqpHeldOut, vec, guard),
    stsb: scorePairs(input.stsb, vec, guard),
    mrpc: scorePairs(input.mrpc, vec, guard),
    llm: scorePairs(llmHeldOut, vec, guard),
    llmByKind: byKind(llmHeldOut, vec, guard),
    simulation: simulateCache(input.simulation, guard),
  }));
  const byBound = artefact.operatingPoints.map((p) => {
    const verifier = createVerifier(artefact, { maxFalseHitRate: p.bound });
    return {
      bound: p.bound,
      threshold: p.threshold,
      qqp: scorePairs(input.qqpHeldOut, vec, verifier),
      llm: scorePairs(llmHeldOut, vec, verifier),
    };
  });
  return {
    bound: DEFAULT_BOUND,
    cosineThreshold,
    settings: results,
    byBound,
    microsPerCandidate: {
      verifier: timePerPair(input.qqpHeldOut, vec, verifier),
      guards: timePerPair(input.qqpHeldOut, vec, settings[1]![1]),
      ...(input.compare ? { compare: timePerPair(input.qqpHeldOut, vec, settings[2]![1]) } : {}),
    },
  };
}
