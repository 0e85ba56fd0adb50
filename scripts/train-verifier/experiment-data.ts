/**
 * The data every verifier experiment uses (decisions 0161, 0173): the 2.0.0 recipe's tuning pairs split into
 * fit and calibration parts, the held-out QQP pairs and LLM-style families (only ever measured), and their
 * embeddings through the shared cache in `.cache/eval/`.
 */
import { join } from 'node:path';
import pino from 'pino';
import { chooseThreshold } from '../../src/cache/semantic/calibration.js';
import { createEmbedder, dot } from '../../src/cache/semantic/embedders.js';
import { createMetrics } from '../../src/telemetry/metrics.js';
import { loadQqp, type Pair, tuningRole } from '../eval-semantic/data.js';
import { EmbeddingCache } from '../eval-semantic/embed-cache.js';
import { loadLlmPairs } from '../eval-semantic/llm-data.js';

export interface Sample extends Pair {
  source: 'qqp' | 'llm';
}

export interface ExperimentData {
  fit: Sample[];
  calibration: Sample[];
  heldOutQqp: Pair[];
  llmHeldOut: Pair[];
  /** Every text above, once. */
  texts: string[];
  vec(text: string): Float32Array;
  cosine(p: Pair): number;
}

export async function experimentData(
  root: string,
  dataDir: string,
  perHalf: number,
  heldOut: number,
  log: (line: string) => void,
): Promise<ExperimentData> {
  const qqp = loadQqp(dataDir, perHalf);
  const heldOutQqp = loadQqp(dataDir, heldOut).heldOut;
  const llmAll = loadLlmPairs();
  const samples: Sample[] = [
    ...qqp.tuning.map((p) => ({ ...p, source: 'qqp' as const })),
    ...llmAll
      .filter((p) => p.split === 'tuning')
      .map((p) => ({ a: p.a, b: p.b, same: p.same, source: 'llm' as const })),
  ];
  const llmHeldOut = llmAll.filter((p) => p.split === 'held-out');
  const embedder = createEmbedder(
    { kind: 'local' },
    { logger: pino({ level: 'warn' }), metrics: createMetrics({ processMetrics: false }) },
  );
  const cache = new EmbeddingCache(embedder, join(root, '.cache/eval/local_use-lite.bin'));
  const texts = [...new Set([...samples, ...heldOutQqp, ...llmHeldOut].flatMap((s) => [s.a, s.b]))];
  log(`embedded ${await cache.fill(texts)} new texts`);
  const vec = (text: string) => cache.get(text);
  return {
    fit: samples.filter((s) => tuningRole(s) === 'fit'),
    calibration: samples.filter((s) => tuningRole(s) === 'calibration'),
    heldOutQqp,
    llmHeldOut,
    texts,
    vec,
    cosine: (p) => dot(vec(p.a), vec(p.b)),
  };
}

const pct = (x: number) => (x * 100).toFixed(1);

/**
 * One variant's cells at each bound: the threshold chosen on the calibration part, then the calibration hit
 * rate, held-out QQP hit / false-hit rate and held-out LLM-style paraphrases hit / near misses served (%).
 */
export function boundCells(
  data: ExperimentData,
  score: (p: Pair) => number,
  bounds: readonly number[],
): string[] {
  const cal = data.calibration.map((s) => ({ p: s as Pair, x: score(s) }));
  const qqp = data.heldOutQqp.map((p) => ({ p, x: score(p) }));
  const llm = data.llmHeldOut.map((p) => ({ p, x: score(p) }));
  const rate = (xs: { p: Pair; x: number }[], t: number, same: boolean) =>
    xs.filter((e) => e.p.same === same && e.x >= t).length /
    Math.max(1, xs.filter((e) => e.p.same === same).length);
  return bounds.flatMap((bound) => {
    const t = chooseThreshold(
      cal.filter((e) => !e.p.same).map((e) => e.x),
      cal.filter((e) => e.p.same).map((e) => e.x),
      bound,
    );
    return [
      `cal ${pct(t.hits / t.positives)}`,
      `${pct(rate(qqp, t.threshold, true))} / ${pct(rate(qqp, t.threshold, false))}`,
      `${pct(rate(llm, t.threshold, true))} / ${pct(rate(llm, t.threshold, false))}`,
    ];
  });
}
