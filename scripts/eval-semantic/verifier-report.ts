/**
 * Renders the "## Semantic verifier: measured" section of docs/caching.md from the verifier evaluation.
 */
import type { VerifierArtefact } from '../../src/cache/semantic/verifier.js';
import type { PairScores } from './evaluate.js';
import type { VerifierEvalResult } from './verifier-eval.js';

export const VERIFIER_HEADING = '## Semantic verifier: measured';

const p1 = (x: number) => (x * 100).toFixed(1);
const cell = (x: PairScores) =>
  `${x.tp + x.fp === 0 ? '–' : p1(x.precision)} | ${p1(x.recall)} | ${p1(x.falseHitRate)}`;

export function renderVerifierSection(
  r: VerifierEvalResult,
  artefact: VerifierArtefact,
  sizes: { qqp: number; llm: { paraphrases: number; nearMisses: number }; stsb: number; mrpc: number },
): string {
  const verifier = r.settings[r.settings.length - 1]!;
  const kinds = Object.keys(verifier.llmByKind).sort();
  const training = artefact.training as {
    data: {
      qqp: { fit: { pairs: number }; calibration: { pairs: number } };
      llmPairs: { fit: { pairs: number }; calibration: { pairs: number } };
    };
  };
  const qqpOk = verifier.qqp.falseHitRate <= 0.01 && verifier.qqp.recall >= 0.25;
  const nearMissServed = verifier.llm.fp / Math.max(1, verifier.llm.negatives);
  const llmOk = nearMissServed <= 0.05 && verifier.llm.recall >= 0.4;
  return `${VERIFIER_HEADING}

Written by \`npm run eval:semantic\` (do not edit by hand). Verifier artefact ${artefact.version}
(\`src/cache/semantic/verifier-model.json\`, ${artefact.model.trees.length} trees of depth ${artefact.model.depth},
${artefact.features.length} features${artefact.pairModel ? `, the last the margin of a logistic regression over the two ${artefact.pairModel.dimensions}-d vectors` : ''}), trained by \`npm run train:verifier\` on the fit part of the tuning data
(QQP ${training.data.qqp.fit.pairs} pairs, LLM-style ${training.data.llmPairs.fit.pairs}), its thresholds
calibrated on the calibration part (QQP ${training.data.qqp.calibration.pairs}, LLM-style
${training.data.llmPairs.calibration.pairs}); everything below is on data neither step saw: held-out QQP
(${sizes.qqp} pairs), the held-out families of the LLM-style pairs (${sizes.llm.paraphrases} paraphrases,
${sizes.llm.nearMisses} near misses), STS-B test (${sizes.stsb}), MRPC test (${sizes.mrpc}) and the cache simulation.

### Ablation at the default bound (\`SEMANTIC_CACHE_MAX_FALSE_HIT_RATE=0.01\`)

Precision / hit rate (share of true duplicates served) / false-hit rate (share of non-duplicates served), %.
For the LLM-style pairs the hit rate is the share of paraphrases hit and the false-hit rate the share of
near misses served.

| matcher | QQP precision | QQP hit | QQP false hits | LLM-style precision | paraphrases hit | near misses served | STS-B precision | STS-B hit | STS-B false hits | MRPC precision | MRPC hit | MRPC false hits | sim. hit | sim. wrong entry | sim. distractor hits |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${r.settings
  .map(
    (s) =>
      `| ${s.label} | ${cell(s.qqp)} | ${cell(s.llm)} | ${cell(s.stsb)} | ${cell(s.mrpc)} | ${p1(s.simulation.hitRate)} | ${p1(s.simulation.wrongHitRate)} | ${p1(s.simulation.distractorHitRate)} |`,
  )
  .join('\n')}

### LLM-style pairs by kind (held-out families), % served

| kind | pairs | ${r.settings.map((s) => s.label.replace(/ \(.*\)$/, '')).join(' | ')} |
|---|---:|${r.settings.map(() => '---:').join('|')}|
${kinds
  .map((k) => {
    const n = verifier.llmByKind[k]!.pairs;
    return `| ${k} | ${n} | ${r.settings.map((s) => p1((s.llmByKind[k]?.served ?? 0) / n)).join(' | ')} |`;
  })
  .join('\n')}

(\`paraphrase\` and \`symmetric-swap\` should be served; every other kind is a near miss.)

### The verifier at every calibrated bound

| bound | score threshold | QQP precision | QQP hit | QQP false hits | LLM-style precision | paraphrases hit | near misses served |
|---:|---:|---:|---:|---:|---:|---:|---:|
${r.byBound.map((b) => `| ${p1(b.bound)} % | ${b.threshold > 1 ? 'none' : b.threshold.toFixed(4)} | ${cell(b.qqp)} | ${cell(b.llm)} |`).join('\n')}

### Targets of issue 18 at the default bound

- Held-out QQP: false-hit rate ≤ 1 % with hit rate ≥ 25 % — **${qqpOk ? 'reached' : 'not reached'}**: false-hit rate
  ${p1(verifier.qqp.falseHitRate)} %, hit rate ${p1(verifier.qqp.recall)} % (the rule-based guards:
  ${p1(r.settings[1]!.qqp.falseHitRate)} % / ${p1(r.settings[1]!.qqp.recall)} %).
- LLM-style pairs: ≤ 5 % near misses served and ≥ 40 % paraphrases hit — **${llmOk ? 'reached' : 'not reached'}**:
  ${p1(nearMissServed)} % near misses served, ${p1(verifier.llm.recall)} % paraphrases hit.
- Cost: ${r.microsPerCandidate.verifier.toFixed(1)} µs of CPU per candidate for the verifier (features and trees;
  target ≤ 200 µs) — **${r.microsPerCandidate.verifier <= 200 ? 'reached' : 'not reached'}** — and
  ${r.microsPerCandidate.guards.toFixed(1)} µs for the rule-based guards${r.microsPerCandidate.compare === undefined ? '' : ` and ${r.microsPerCandidate.compare.toFixed(1)} µs for the compared verifier`}, in the same run (CPU time of the
  process, on a machine shared with other jobs; at most \`SEMANTIC_CACHE_CANDIDATES\` (5) candidates are scored
  per lookup, on the event loop, after the embedding, which runs in the worker pool).
`;
}
