/**
 * Experiment (decision 0161): does a logistic regression over the embedding pair ([u ⊙ v, |u − v|], 1 024
 * values for USE-Lite), cross-fitted and added as one more input of the trees, raise the verifier's hit rate at
 * the 1 % bound? Trains on the fit part of the tuning data exactly as `npm run train:verifier` does, chooses
 * every threshold on the calibration part, and reports held-out QQP and the held-out LLM-style families only.
 *
 *   node --import tsx scripts/train-verifier/pair-experiment.ts [--data <dir>] [--qqp-per-half 10000]
 *     [--held-out 5000] [--rank 0,64] [--lambdas 0.001,0.01,0.1]
 *
 * Variants: the 2.0.0 recipe (23 features), the same + the pair model's margin, the pair model alone
 * (its margin thresholded), and with `--rank r` the pair model over the vectors projected on their first r
 * principal components (a record would then keep r numbers instead of the whole vector).
 */
import { resolve } from 'node:path';
import { dot } from '../../src/cache/semantic/embedders.js';
import { createVerifier, treeMargin, type VerifierArtefact } from '../../src/cache/semantic/verifier.js';
import { verifierFeatures } from '../../src/cache/semantic/verifier-features.js';
import shipped from '../../src/cache/semantic/verifier-model.json' with { type: 'json' };
import { type Pair, pairFold } from '../eval-semantic/data.js';
import { boundCells, experimentData } from './experiment-data.js';
import { trainGbt } from './gbt.js';
import { crossFit, marginOf, pairMatrix } from './pair-model.js';
import { buildVocabulary, searchCutOff } from './recipe.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const log = (line: string) => process.stderr.write(`${line}\n`);

const root = resolve(import.meta.dirname, '../..');
const dataDir = resolve(root, arg('--data', '../shared/data/semantic'));
const ranks = arg('--rank', '0')
  .split(',')
  .map(Number)
  .filter((r) => r > 0);
const lambdas = arg('--lambdas', '0.001,0.01,0.1').split(',').map(Number);
const LLM_WEIGHT = 3;
const GBT = { trees: 300, depth: 4, learningRate: 0.08, lambda: 1, minChildWeight: 2, bins: 32 };

const data = await experimentData(
  root,
  dataDir,
  Number(arg('--qqp-per-half', '10000')),
  Number(arg('--held-out', '5000')),
  log,
);
const { fit, calibration, heldOutQqp, llmHeldOut, vec, cosine } = data;

const { artefact: vocabulary, vocab } = buildVocabulary(fit);
const minCosine = searchCutOff(fit.filter((s) => s.same).map(cosine));
const labels = fit.map((s) => (s.same ? 1 : 0));
const weights = fit.map((s) => (s.source === 'llm' ? LLM_WEIGHT : 1));
const folds = fit.map((s) => pairFold(s, 5));

/** Projection on the first r principal components of the fit texts' vectors (power iteration, deflation). */
function principalComponents(r: number): Float32Array[] {
  const texts = [...new Set(fit.flatMap((s) => [s.a, s.b]))].map(vec);
  const d = texts[0]!.length;
  const mean = new Float64Array(d);
  for (const v of texts) for (let i = 0; i < d; i++) mean[i]! += v[i]! / texts.length;
  const cov = new Float64Array(d * d);
  for (const v of texts) {
    for (let i = 0; i < d; i++) {
      const a = v[i]! - mean[i]!;
      for (let j = i; j < d; j++) cov[i * d + j]! += a * (v[j]! - mean[j]!);
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i * d + j] = cov[j * d + i]!;
  const out: Float32Array[] = [];
  for (let c = 0; c < r; c++) {
    let x = new Float64Array(d).map((_, i) => Math.sin(i * 7.3 + c));
    for (let it = 0; it < 100; it++) {
      const y = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += cov[i * d + j]! * x[j]!;
        y[i] = s;
      }
      for (const p of out) {
        let s = 0;
        for (let i = 0; i < d; i++) s += y[i]! * p[i]!;
        for (let i = 0; i < d; i++) y[i]! -= s * p[i]!;
      }
      const norm = Math.sqrt(y.reduce((s, v) => s + v * v, 0));
      x = y.map((v) => v / norm);
    }
    out.push(Float32Array.from(x));
  }
  return out;
}

type Project = (v: Float32Array) => Float32Array;
const identity: Project = (v) => v;

interface PairVariant {
  name: string;
  project: Project;
  /** Margin of a pair by the model fitted on every fit row. */
  margin: (p: Pair) => number;
  /** Cross-fitted margins of the fit rows. */
  oof: Float64Array;
}

function pairVariant(name: string, project: Project): PairVariant {
  const started = performance.now();
  const m = pairMatrix(fit.map((s) => [project(vec(s.b)), project(vec(s.a))]));
  const fitted = crossFit(m, labels, weights, folds, lambdas, log);
  log(`${name}: λ ${fitted.lambda}, ${Math.round(performance.now() - started)} ms`);
  const margin = (p: Pair) => {
    const one = pairMatrix([[project(vec(p.b)), project(vec(p.a))]]);
    return marginOf(one, 0, fitted.model);
  };
  return { name, project, margin, oof: fitted.margins };
}

const normalise = (text: string) =>
  text
    .toLowerCase()
    .replace(/(?<!\d)[.,](?!\d)|[\s;:!?'"“”‘’()[\]{}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

type Scorer = (p: Pair) => number;

function treesWith(pair: PairVariant | null): Scorer {
  const rows = fit.map((s, i) => {
    const x = verifierFeatures(s.b, s.a, cosine(s), vocab);
    if (!pair) return x;
    const y = new Float64Array(x.length + 1);
    y.set(x);
    y[x.length] = pair.oof[i]!;
    return y;
  });
  const model = trainGbt(rows, labels, weights, GBT);
  return (p) => {
    if (normalise(p.a) === normalise(p.b)) return 1;
    const c = cosine(p);
    if (!(c >= minCosine)) return 0;
    const x = verifierFeatures(p.b, p.a, c, vocab);
    if (!pair) return 1 / (1 + Math.exp(-treeMargin(model, x)));
    const y = new Float64Array(x.length + 1);
    y.set(x);
    y[x.length] = pair.margin(p);
    return 1 / (1 + Math.exp(-treeMargin(model, y)));
  };
}

const BOUNDS = [0.005, 0.01, 0.02, 0.05];
interface Row {
  variant: string;
  cells: string[];
}
const rows: Row[] = [];
const pct = (x: number) => (x * 100).toFixed(1);

function report(variant: string, score: Scorer): void {
  const cells = boundCells(data, score, BOUNDS);
  rows.push({ variant, cells });
  log(`${variant}: ${cells.join(' | ')}`);
}

// The shipped artefact, scored by the runtime verifier, thresholds re-chosen the same way (identical to its own).
const shippedVerifier = createVerifier(shipped as unknown as VerifierArtefact, { maxFalseHitRate: 1 });
report('shipped 2.0.0', (p) => shippedVerifier.score(p.b, p.a, cosine(p)));
if (!process.argv.includes('--skip-retrain')) report('2.0.0 recipe retrained', treesWith(null));
const full = pairVariant('pair LR (1024)', identity);
report('pair LR alone (1024)', (p) => (normalise(p.a) === normalise(p.b) ? 1e9 : full.margin(p)));
report('trees + pair LR margin (1024)', treesWith(full));
for (const r of ranks) {
  const pcs = principalComponents(r);
  const project: Project = (v) => Float32Array.from(pcs, (pc) => dot(pc, v));
  const low = pairVariant(`pair LR (PCA ${r})`, project);
  report(`pair LR alone (PCA ${r})`, (p) => (normalise(p.a) === normalise(p.b) ? 1e9 : low.margin(p)));
  report(`trees + pair LR margin (PCA ${r})`, treesWith(low));
}

console.log(
  `fit ${fit.length} / calibration ${calibration.length} (non-dup. ${calibration.filter((s) => !s.same).length}); held-out QQP ${heldOutQqp.length}, LLM-style ${llmHeldOut.length}; minCosine ${minCosine}; vocabulary ${vocabulary.words.length}`,
);
console.log(
  `| variant | ${BOUNDS.map((b) => `cal. hit at ${pct(b)} % | QQP hit / false at ${pct(b)} % | LLM-style hit / near misses at ${pct(b)} %`).join(' | ')} |`,
);
console.log(`|---|${BOUNDS.map(() => '---:|---:|---:').join('|')}|`);
for (const r of rows) console.log(`| ${r.variant} | ${r.cells.join(' | ')} |`);
process.exit(0);
