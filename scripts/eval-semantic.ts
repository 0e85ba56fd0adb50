/**
 * `npm run eval:semantic` — measures the semantic cache's quality (see docs/caching.md, "Semantic quality and
 * guards" and "Semantic verifier: measured"): precision, hit rate on true duplicates and false-hit rate over
 * thresholds × guards, on the held-out half of QQP, STS-B (binarised), MRPC and a cache simulation on GPTCache's
 * mock data; and the ablation cosine only / rule-based guards / calibrated verifier at the default false-hit
 * bound, with the project's LLM-style prompt pairs (test/fixtures/semantic/llm-pairs.jsonl, held-out families).
 *
 * Options: --data <dir> (default ../shared/data/semantic), --qqp-per-half <n> (default 5000),
 * --embed-only (fill the embedding cache and stop), --tune (on the QQP tuning half only: best threshold per
 * guard set under a false-hit budget, --budget 0.0075), --no-write (print only), --embedder provider --model <m>
 * --base-url <url> --dimensions <d> (measure an OpenAI-compatible /v1/embeddings; key in EMBEDDING_API_KEY).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { createEmbedder } from '../src/cache/semantic/embedders.js';
import {
  createMatchGuard,
  DEFAULT_SEMANTIC_THRESHOLD,
  GUARD_RULES,
  type MatchGuardOptions,
  SAME_WORDS_MARGIN,
} from '../src/cache/semantic/guards.js';
import type { VerifierArtefact } from '../src/cache/semantic/verifier.js';
import verifierArtefact from '../src/cache/semantic/verifier-model.json' with { type: 'json' };
import { createMetrics } from '../src/telemetry/metrics.js';
import { loadMock, loadMrpc, loadQqp, loadStsb, STSB_SAME_CUTOFF, tuningRole } from './eval-semantic/data.js';
import { EmbeddingCache } from './eval-semantic/embed-cache.js';
import {
  bestThreshold,
  prepareSimulation,
  SIMULATION_CANDIDATES,
  scorePairs,
  simulateCache,
  verdictCounts,
} from './eval-semantic/evaluate.js';
import { loadLlmPairs } from './eval-semantic/llm-data.js';
import { renderSection, writeSection } from './eval-semantic/report.js';
import { evaluateVerifier } from './eval-semantic/verifier-eval.js';
import { renderVerifierSection, VERIFIER_HEADING } from './eval-semantic/verifier-report.js';

/** The QQP sample per half `npm run train:verifier` reads by default. */
const TRAINING_QQP_PER_HALF = 10_000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const root = resolve(import.meta.dirname, '..');
const dataDir = resolve(root, arg('--data', '../shared/data/semantic'));
const perHalf = Number(arg('--qqp-per-half', '5000'));

const qqp = loadQqp(dataDir, perHalf);
// The verifier's calibration pairs come from the tuning half as the training script read it.
const qqpTuning = loadQqp(dataDir, TRAINING_QQP_PER_HALF).tuning;
const llm = loadLlmPairs();
const stsb = loadStsb(dataDir);
const mrpc = loadMrpc(dataDir);
const mock = loadMock(dataDir);

const kind = arg('--embedder', 'local') === 'provider' ? 'provider' : 'local';
const embedder = createEmbedder(
  kind === 'local'
    ? { kind }
    : {
        kind,
        model: arg('--model', ''),
        baseUrl: arg('--base-url', ''),
        apiKey: process.env.EMBEDDING_API_KEY,
        dimensions: Number(arg('--dimensions', '0')) || undefined,
        timeoutMs: 30_000,
      },
  { logger: pino({ level: 'warn' }), metrics: createMetrics({ processMetrics: false }) },
);
if (embedder.dimensions === 0) throw new Error('--dimensions is required with --embedder provider');
const cacheFile = `${embedder.id.replace(/[^a-zA-Z0-9.-]+/g, '_')}.bin`;
const cache = new EmbeddingCache(embedder, join(root, '.cache/eval', cacheFile));
const texts = [...qqp.tuning, ...qqp.heldOut, ...stsb, ...mrpc].flatMap((p) => [p.a, p.b]);
texts.push(...mock.flatMap((m) => [m.origin, m.similar]));
texts.push(...llm.flatMap((p) => [p.a, p.b]));
texts.push(...qqpTuning.filter((p) => tuningRole(p) === 'calibration').flatMap((p) => [p.a, p.b]));
const added = await cache.fill(texts);
process.stderr.write(`embedded ${added} new texts\n`);
if (process.argv.includes('--embed-only')) process.exit(0);

const vec = (text: string) => cache.get(text);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

if (process.argv.includes('--tune')) {
  // Tuning half only: the best threshold per guard set under a false-hit budget with a safety margin (the
  // held-out half is not looked at here).
  const budget = Number(arg('--budget', '0.0075'));
  const sets: [string, MatchGuardOptions][] = [
    ['cosine only', { rules: [] }],
    ['all guards', {}],
    ['all guards, one tier', { sameWordsMargin: 0 }],
    ...GUARD_RULES.map((r): [string, MatchGuardOptions] => [
      `all guards but ${r}`,
      { rules: GUARD_RULES.filter((x) => x !== r) },
    ]),
  ];
  for (const [label, options] of sets) {
    const makeGuard = (threshold: number) => createMatchGuard({ ...options, threshold });
    const best = bestThreshold(qqp.tuning, vec, makeGuard, budget);
    console.log(
      `tuning, ${label}: ${best ? `cos ≥ ${best.threshold}: precision ${pct(best.scores.precision)} hit ${pct(best.scores.recall)} false-hit ${pct(best.scores.falseHitRate)}` : 'no threshold within budget'}`,
    );
  }
  console.log(JSON.stringify(verdictCounts(qqp.tuning, vec, createMatchGuard())));
  process.exit(0);
}

// ---- Report: held-out QQP, STS-B, MRPC and the cache simulation over thresholds × guards ----

interface Setting {
  label: string;
  threshold: number;
  options: MatchGuardOptions;
  isDefault: boolean;
}

const settings: Setting[] = [];
const cosineThresholds = new Set([0.85, 0.9, 0.95, 0.97, 0.98, 0.99, DEFAULT_SEMANTIC_THRESHOLD]);
for (const threshold of [...cosineThresholds].sort((a, b) => a - b)) {
  settings.push({ label: 'cosine only', threshold, options: { rules: [] }, isDefault: false });
}
const guardThresholds = new Set([0.9, 0.95, 0.96, 0.97, 0.98, 0.99, DEFAULT_SEMANTIC_THRESHOLD]);
for (const threshold of [...guardThresholds].sort((a, b) => a - b)) {
  settings.push({
    label: 'all guards',
    threshold,
    options: {},
    isDefault: threshold === DEFAULT_SEMANTIC_THRESHOLD,
  });
}
settings.push({
  label: 'all guards, one tier',
  threshold: DEFAULT_SEMANTIC_THRESHOLD,
  options: { sameWordsMargin: 0 },
  isDefault: false,
});
for (const threshold of [0.9, 0.95]) {
  settings.push({
    label: 'all guards but substitution',
    threshold,
    options: { rules: GUARD_RULES.filter((r) => r !== 'substitution') },
    isDefault: false,
  });
}
for (const rule of GUARD_RULES) {
  settings.push({
    label: `all guards but ${rule}`,
    threshold: DEFAULT_SEMANTIC_THRESHOLD,
    options: { rules: GUARD_RULES.filter((r) => r !== rule) },
    isDefault: false,
  });
}

// Distractors for the simulation: questions and sentences from the other sets, none of which is in the cache.
const distractors = [
  ...qqp.heldOut.slice(0, 500).map((p) => p.a),
  ...stsb.slice(0, 250).map((p) => p.a),
  ...mrpc.slice(0, 250).map((p) => p.a),
];

const lowestCutOff = Math.min(
  ...settings.map((s) => createMatchGuard({ ...s.options, threshold: s.threshold }).threshold),
);
const prepared = prepareSimulation(mock, distractors, vec, lowestCutOff);
const results = settings.map((s) => {
  const guard = createMatchGuard({ ...s.options, threshold: s.threshold });
  return {
    setting: s,
    qqpHeldOut: scorePairs(qqp.heldOut, vec, guard),
    stsb: scorePairs(stsb, vec, guard),
    mrpc: scorePairs(mrpc, vec, guard),
    simulation: simulateCache(prepared, guard),
  };
});

const artefact = verifierArtefact as unknown as VerifierArtefact;
// Another artefact to compare with the shipped one (e.g. `npm run train:verifier -- --pair --out <it>`), if given.
const compareFile = resolve(root, arg('--compare', '.cache/eval/verifier-compare.json'));
const compare = existsSync(compareFile)
  ? (JSON.parse(readFileSync(compareFile, 'utf8')) as VerifierArtefact)
  : undefined;
const verifierSimulation = prepareSimulation(
  mock,
  distractors,
  vec,
  Math.min(artefact.minCosine, lowestCutOff),
);
const verifierResult = evaluateVerifier({
  artefact,
  ...(compare ? { compare } : {}),
  vec,
  qqpTuning,
  qqpHeldOut: qqp.heldOut,
  stsb,
  mrpc,
  llm,
  simulation: verifierSimulation,
});
const llmHeldOut = llm.filter((p) => p.split === 'held-out');
const verifierSection = renderVerifierSection(verifierResult, artefact, {
  qqp: qqp.heldOut.length,
  llm: {
    paraphrases: llmHeldOut.filter((p) => p.same).length,
    nearMisses: llmHeldOut.filter((p) => !p.same).length,
  },
  stsb: stsb.length,
  mrpc: mrpc.length,
});

const pct1 = (x: number) => (x * 100).toFixed(1);
const name = (s: Setting) => {
  const tiers =
    s.label === 'cosine only' || s.options.sameWordsMargin === 0
      ? `cos ≥ ${s.threshold}`
      : `cos ≥ ${s.threshold}, same words ≥ ${(s.threshold - SAME_WORDS_MARGIN).toFixed(3)}`;
  return s.isDefault ? `**${s.label}, ${tiers} (default)**` : `${s.label}, ${tiers}`;
};
const table = [
  '| setting | QQP precision | QQP hit rate | QQP false hits | STS-B precision | STS-B hit rate | STS-B false hits | MRPC precision | MRPC hit rate | MRPC false hits | sim. hit rate | sim. wrong entry | sim. distractor hits |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...results.map((r) =>
    [
      name(r.setting),
      ...[r.qqpHeldOut, r.stsb, r.mrpc].flatMap((x) => [
        x.tp + x.fp === 0 ? '–' : pct1(x.precision),
        pct1(x.recall),
        pct1(x.falseHitRate),
      ]),
      pct1(r.simulation.hitRate),
      pct1(r.simulation.wrongHitRate),
      pct1(r.simulation.distractorHitRate),
    ].join(' | '),
  ),
].map((line) => (line.startsWith('|') ? line : `| ${line} |`));

const def = results.find((r) => r.setting.isDefault);
const summary = {
  generatedAt: new Date().toISOString(),
  embedder: embedder.id,
  data: {
    qqp: { totalPairs: qqp.totalPairs, perHalf, tuning: qqp.tuning.length, heldOut: qqp.heldOut.length },
    stsb: { pairs: stsb.length, sameCutoff: STSB_SAME_CUTOFF },
    mrpc: { pairs: mrpc.length },
    simulation: { entries: mock.length, distractors: distractors.length, candidates: SIMULATION_CANDIDATES },
  },
  default: { threshold: DEFAULT_SEMANTIC_THRESHOLD, sameWordsMargin: SAME_WORDS_MARGIN, rules: GUARD_RULES },
  rejectionsHeldOut: verdictCounts(qqp.heldOut, vec, createMatchGuard()),
  results,
  verifier: { version: artefact.version, ...verifierResult },
};

console.log(table.join('\n'));
console.log(verifierSection);
if (def) {
  console.log(
    `default: QQP held-out precision ${pct(def.qqpHeldOut.precision)}, hit rate ${pct(def.qqpHeldOut.recall)}, false-hit rate ${pct(def.qqpHeldOut.falseHitRate)}`,
  );
}
if (!process.argv.includes('--no-write')) {
  const jsonFile = join(root, 'docs/semantic-eval.json');
  writeFileSync(jsonFile, `${JSON.stringify(summary, null, 2)}\n`);
  // Formatted as the repository's formatter wants it, so `npm test` (biome check) stays green.
  spawnSync('npx', ['biome', 'format', '--write', jsonFile], { cwd: root, stdio: 'ignore' });
  writeSection(
    join(root, 'docs/caching.md'),
    renderSection({
      table,
      embedderId: embedder.id,
      qqp: summary.data.qqp,
      stsbCutoff: STSB_SAME_CUTOFF,
      simulation: summary.data.simulation,
      defaults: summary.default,
      ruleCounts: summary.rejectionsHeldOut,
      defaultResult: def,
      cosineOnlyAtDefault: results.find(
        (x) => x.setting.label === 'cosine only' && x.setting.threshold === DEFAULT_SEMANTIC_THRESHOLD,
      )?.qqpHeldOut,
      counts: { qqp: results[0]!.qqpHeldOut, stsb: results[0]!.stsb, mrpc: results[0]!.mrpc },
    }),
  );
  writeSection(join(root, 'docs/caching.md'), verifierSection, VERIFIER_HEADING);
  process.stderr.write(
    'wrote docs/caching.md (sections "Semantic quality and guards", "Semantic verifier: measured") and docs/semantic-eval.json\n',
  );
}
