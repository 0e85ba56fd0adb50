/**
 * Latency of the semantic cache's request-path parts on this machine: the local embedder on one short
 * question (p50/p99 over sequential calls after warm-up) and the match guard per candidate.
 * Run: `node --import tsx bench/semantic-latency.ts [calls]`
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createEmbedder } from '../src/cache/semantic/embedders.js';
import { createMatchGuard } from '../src/cache/semantic/guards.js';
import { createMetrics } from '../src/telemetry/metrics.js';

const calls = Number(process.argv[2] ?? 300);
const embedder = createEmbedder(
  { kind: 'local' },
  { logger: pino({ level: 'warn' }), metrics: createMetrics({ processMetrics: false }) },
);
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

const rssBefore = process.memoryUsage().rss;
const loadStart = performance.now();
await embedder.embed(['warm up']);
const rssMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
console.log(
  `model load + first call: ${(performance.now() - loadStart).toFixed(0)} ms, RSS +${rssMb.toFixed(0)} MB`,
);
for (let i = 0; i < 20; i++) await embedder.embed([`How do I reset my password ${i}?`]);

const times: number[] = [];
for (let i = 0; i < calls; i++) {
  const started = performance.now();
  await embedder.embed([`How do I reset my password on device number ${i}?`]);
  times.push(performance.now() - started);
}
times.sort((a, b) => a - b);
console.log(
  `embed one short question, ${calls} calls: p50 ${quantile(times, 0.5).toFixed(1)} ms, p99 ${quantile(times, 0.99).toFixed(1)} ms`,
);

const burst = 16;
const burstStart = performance.now();
await Promise.all(
  Array.from({ length: burst }, (_, i) => embedder.embed([`Where can I find invoice ${i}?`])),
);
console.log(
  `${burst} concurrent calls (micro-batched): ${(performance.now() - burstStart).toFixed(0)} ms in all`,
);

const guard = createMatchGuard();
const pairs: [string, string][] = [
  ['How do I cancel my subscription to the New York Times?', 'How can I cancel my NYT subscription online?'],
  [
    'What is the best laptop for programming under $1000?',
    'Which laptop is best for programming under $1000?',
  ],
];
for (let i = 0; i < 20_000; i++) guard.accept(pairs[i % 2]![0], pairs[i % 2]![1], 0.99);
const n = 100_000;
const guardStart = performance.now();
for (let i = 0; i < n; i++) guard.accept(pairs[i % 2]![0], pairs[i % 2]![1], 0.99);
console.log(`match guard: ${(((performance.now() - guardStart) * 1000) / n).toFixed(1)} µs per candidate`);
await embedder.close?.();
