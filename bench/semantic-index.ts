/**
 * `npm run bench:semantic-index` — the semantic cache's vector index (src/cache/semantic/vector-index.ts) at
 * 10 k, 100 k and 1 M entries in one partition: lookup latency (the `search` call of every semantic lookup,
 * top 5), recall@10 against the exact flat scan (usearch `exactSearch`), build rate and memory per entry.
 *
 * Vectors: real USE-Lite embeddings of QQP questions from the evaluation's embedding cache
 * (`.cache/eval/local_use-lite.bin`, filled by `npm run eval:semantic`, which reads ../shared/data); above
 * the real ones, generated vectors: a random real vector plus Gaussian noise (cosine ≈ 0.8 to it),
 * normalised — clusters of near-paraphrases like a busy cache's. Queries are real vectors not in the index.
 *
 * Options: --sizes 10000,100000,1000000 --queries 1000 --recall-queries 200 --file <embedding cache>.
 * The machine's other load shows in the latencies: run it on a quiet machine for published numbers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { exactSearch, MetricKind } from 'usearch';
import { PartitionIndex } from '../src/cache/semantic/vector-index.js';
import { mulberry32 } from '../src/core/random.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const DIMS = 512;
const KEY_BYTES = 20;
const root = resolve(import.meta.dirname, '..');
const file = resolve(root, arg('--file', '.cache/eval/local_use-lite.bin'));
const sizes = arg('--sizes', '10000,100000,1000000').split(',').map(Number);
const queryCount = Number(arg('--queries', '1000'));
const recallQueries = Number(arg('--recall-queries', '200'));

/** Deterministic PRNG (mulberry32, seed 42) and a standard normal from it. */
const random = mulberry32(42);
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function readReal(): Float32Array[] {
  if (!existsSync(file))
    throw new Error(`${file} not found: run npm run eval:semantic first (it embeds QQP)`);
  const buf = readFileSync(file);
  const record = KEY_BYTES + DIMS * 4;
  const out: Float32Array[] = [];
  for (let off = 0; off + record <= buf.length; off += record) {
    const v = new Float32Array(DIMS);
    new Uint8Array(v.buffer).set(buf.subarray(off + KEY_BYTES, off + record));
    out.push(v);
  }
  return out;
}

/** A neighbour of `base` at cosine ≈ 0.8, normalised, written into `out`. */
function nearby(base: Float32Array, out: Float32Array): void {
  const sigma = Math.sqrt((1 / 0.8 ** 2 - 1) / DIMS);
  let norm = 0;
  for (let i = 0; i < DIMS; i++) {
    out[i] = base[i]! + sigma * gaussian();
    norm += out[i]! * out[i]!;
  }
  const s = 1 / Math.sqrt(norm);
  for (let i = 0; i < DIMS; i++) out[i]! *= s;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

const real = readReal();
const queries = real.slice(real.length - queryCount);
const pool = real.slice(0, real.length - queryCount);
process.stderr.write(`${real.length} real vectors (${pool.length} for entries, ${queries.length} queries)\n`);
const maxSize = Math.max(...sizes);
const data = new Float32Array(maxSize * DIMS);
for (let i = 0; i < maxSize; i++) {
  const row = data.subarray(i * DIMS, (i + 1) * DIMS);
  if (i < pool.length) row.set(pool[i]!);
  else nearby(pool[Math.floor(random() * pool.length)]!, row);
}
const queryFlat = new Float32Array(queries.length * DIMS);
for (const [i, q] of queries.entries()) queryFlat.set(q, i * DIMS);

const results: Record<string, unknown>[] = [];
for (const size of sizes) {
  global.gc?.();
  const before = process.memoryUsage();
  const index = new PartitionIndex(DIMS, { maxEntries: size });
  const started = performance.now();
  const batch = 10_000;
  for (let from = 0; from < size; from += batch) {
    const records = [];
    for (let i = from; i < Math.min(size, from + batch); i++) {
      // A realistic record: a 64-hex-character key and a question-length text.
      records.push({
        text: `How do I make question number ${i} of the benchmark look like a real prompt?`,
        key: `${i.toString(16).padStart(8, '0')}${'0'.repeat(56)}`,
        expiresAt: Number.MAX_SAFE_INTEGER,
        vector: data.subarray(i * DIMS, (i + 1) * DIMS),
      });
    }
    index.add(records);
    const done = Math.min(size, from + batch);
    if (done % 100_000 === 0 || done === size) {
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write(
        `${size}: ${done} added in ${seconds.toFixed(0)} s (${Math.round(done / seconds)}/s, load average ${loadavg()[0]!.toFixed(1)})\n`,
      );
    }
  }
  const buildMs = performance.now() - started;
  global.gc?.();
  const after = process.memoryUsage();
  // The graph copies the vectors (the flat mode keeps views of `data`, so it shows only its overhead).
  const bytes = after.rss - before.rss;
  // Warm up, then time every query.
  for (let i = 0; i < 50; i++) index.search(queries[i % queries.length]!, 5, 0, 0);
  const times: number[] = [];
  // CPU time of this process per lookup too: on a shared machine the wall time includes waiting for a core.
  const cpu: number[] = [];
  for (const q of queries) {
    const c = process.cpuUsage();
    const t = performance.now();
    index.search(q, 5, 0, 0);
    times.push(performance.now() - t);
    const used = process.cpuUsage(c);
    cpu.push((used.user + used.system) / 1000);
  }
  // Recall@10 against the exact scan over the same vectors.
  const nq = Math.min(recallQueries, queries.length);
  const truth = exactSearch(
    data.subarray(0, size * DIMS),
    queryFlat.subarray(0, nq * DIMS),
    DIMS,
    10,
    MetricKind.Cos,
    0,
  );
  let found = 0;
  for (let q = 0; q < nq; q++) {
    const exact = new Set<number>();
    for (let j = 0; j < 10; j++) exact.add(Number(truth.keys[q * 10 + j]!));
    for (const hit of index.search(queries[q]!, 10, -2, 0)) {
      if (exact.has(Number.parseInt(hit.record.key.slice(0, 8), 16))) found++;
    }
  }
  const row = {
    entries: size,
    real: Math.min(size, pool.length),
    mode: index.approximate ? 'hnsw' : 'flat',
    buildSeconds: Number((buildMs / 1000).toFixed(1)),
    insertsPerSecond: Math.round(size / (buildMs / 1000)),
    p50ms: Number(percentile(times, 0.5).toFixed(3)),
    p99ms: Number(percentile(times, 0.99).toFixed(3)),
    cpuP50ms: Number(percentile(cpu, 0.5).toFixed(3)),
    cpuP99ms: Number(percentile(cpu, 0.99).toFixed(3)),
    loadAverage: Number(loadavg()[0]!.toFixed(1)),
    recallAt10: Number((found / (nq * 10)).toFixed(4)),
    bytesPerEntry: Math.round(bytes / size),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
console.log(
  [
    '| entries (real + generated) | index | build | lookup p50 | lookup p99 | CPU per lookup p50 / p99 | recall@10 vs flat scan | memory per entry | load average |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.entries} (${r.real} + ${(r.entries as number) - (r.real as number)}) | ${r.mode} | ${r.buildSeconds} s (${r.insertsPerSecond}/s) | ${r.p50ms} ms | ${r.p99ms} ms | ${r.cpuP50ms} / ${r.cpuP99ms} ms | ${r.recallAt10} | ${r.bytesPerEntry} B | ${r.loadAverage} |`,
    ),
  ].join('\n'),
);
