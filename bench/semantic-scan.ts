/**
 * Flat-scan cost of the semantic index: one query against N L2-normalised Float32 vectors (the loop of
 * `SemanticCache.lookup`). Prints the median over repeats per N.
 *
 *   npx tsx bench/semantic-scan.ts [dimensions=512]
 */
import { dot } from '../src/cache/semantic/embedders.js';

const dims = Number(process.argv[2] ?? 512);
function randomUnit(): Float32Array {
  const v = new Float32Array(dims);
  let n = 0;
  for (let i = 0; i < dims; i++) {
    v[i] = Math.random() - 0.5;
    n += (v[i] as number) ** 2;
  }
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < dims; i++) v[i] = (v[i] as number) * s;
  return v;
}
for (const size of [1_000, 10_000, 50_000, 100_000]) {
  const vectors = Array.from({ length: size }, randomUnit);
  const query = randomUnit();
  const times: number[] = [];
  let sink = 0;
  for (let r = 0; r < 21; r++) {
    const t = performance.now();
    for (const v of vectors) sink += dot(query, v) > 0.95 ? 1 : 0;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`${size} vectors x ${dims} dims: median ${times[10]?.toFixed(2)} ms (sink ${sink})`);
}
