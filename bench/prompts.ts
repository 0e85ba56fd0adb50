/**
 * `npm run bench:prompts` — what a prompt reference costs on the hot path (DESIGN §12), in process, without
 * HTTP: the chat codec's decode plus the prompt stage, for a plain request and for the same request naming
 * a prompt (label → version and the compiled version cached, as in steady state: two system/user templates,
 * three variables, ~600 characters rendered), and for one joining a 50/50 experiment (the SHA-256 sticky
 * hash on top). Reports the median and p99 of batches (µs per request) and the process CPU time per request.
 *
 * Options: --iterations <n> (default 20000), --json (one JSON line).
 */
import { parseArgs } from 'node:util';
import type { RequestContext } from '../src/core/context.js';
import { createContext } from '../src/core/context.js';
import { completionResult } from '../src/core/result.js';
import { createChatCodec, createChatValidator } from '../src/endpoints/chat/codec.js';
import { createSchemaCompiler } from '../src/endpoints/compile.js';
import type { Experiment } from '../src/experiments/assign.js';
import type { ExperimentStore } from '../src/experiments/store.js';
import { PromptResolver } from '../src/prompts/resolver.js';
import { promptStage } from '../src/prompts/stage.js';
import type { PromptStore, PromptVersion } from '../src/prompts/store.js';
import { declareVariables, type PromptMessage } from '../src/prompts/template.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } },
});
const ITERATIONS = Number(values.iterations);

const messages: PromptMessage[] = [
  {
    role: 'system',
    content:
      'You are a support assistant for {{company}}. Answer in {{language}}, in a friendly and concise tone. ' +
      'Never promise refunds; point to the refund policy instead. Keep answers under 120 words, use plain ' +
      'words, and end with one follow-up question when the customer seems unsure about the next step.',
  },
  {
    role: 'user',
    content: 'Customer profile: {{profile}}. Use it only when it helps; do not repeat it back verbatim.',
  },
];
const version: PromptVersion = {
  id: 'support',
  version: 1,
  messages,
  variables: declareVariables(undefined, messages),
  model: null,
  params: {},
  note: null,
  createdAt: '2026-01-01T00:00:00.000Z',
};
const experiment: Experiment = {
  id: 'exp',
  status: 'running',
  variants: [
    { name: 'a', weight: 50, prompt: { id: 'support', version: 1 } },
    { name: 'b', weight: 50, prompt: { id: 'support', version: 1 } },
  ],
  sticky_by: 'user',
  holdout: 0,
  prompt_id: null,
  label: null,
};
// In-memory stores: the bench measures the steady state (everything cached), not the database.
const prompts = {
  version: async () => version,
  label: async () => ({ version: 1, archived: false }),
} as unknown as PromptStore;
const experiments = {
  get: async () => experiment,
  attached: async () => null,
} as unknown as ExperimentStore;

const userTurn = [{ role: 'user', content: 'My order #4411 arrived damaged; what can I do?' }];
const variables = { company: 'Acme Travel', language: 'English', profile: 'gold member since 2019' };
const BODIES = {
  plain: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a support assistant.' },
      { role: 'user', content: 'Customer profile: gold member since 2019.' },
      ...userTurn,
    ],
  }),
  prompt: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: userTurn,
    prompt: { id: 'support', label: 'production', variables },
  }),
  experiment: JSON.stringify({
    model: 'gpt-4o-mini',
    messages: userTurn,
    user: 'end-user-42',
    experiment: 'exp',
    prompt: { id: 'support', variables },
  }),
};

interface Measured {
  name: string;
  median_us: number;
  p99_us: number;
  cpu_us: number;
}

async function measure(name: string, once: () => Promise<unknown>): Promise<Measured> {
  for (let i = 0; i < Math.min(2000, ITERATIONS); i++) await once();
  const batch = 100;
  const samples: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i += batch) {
    const t = performance.now();
    for (let j = 0; j < batch; j++) await once();
    samples.push(((performance.now() - t) * 1000) / batch);
  }
  const used = process.cpuUsage(cpu);
  samples.sort((a, b) => a - b);
  return {
    name,
    median_us: samples[Math.floor(samples.length / 2)] as number,
    p99_us: samples[Math.floor(samples.length * 0.99)] as number,
    cpu_us: (used.user + used.system) / ITERATIONS,
  };
}

async function main(): Promise<void> {
  const compile = createSchemaCompiler();
  const codec = createChatCodec(compile);
  const resolver = new PromptResolver(prompts, experiments, {
    ttlMs: 60_000,
    maxCached: 1000,
    clock: { now: () => performance.now() },
    onError: (err) => {
      throw err;
    },
  });
  const stage = promptStage({ resolver, validate: createChatValidator(compile), clock: { now: () => 0 } });
  const answer = completionResult(
    { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [] },
    'upstream',
    null,
  );
  const next = async (_ctx?: RequestContext) => answer;
  const decoded = (raw: string) => {
    const ctx: RequestContext = createContext({
      requestId: 'bench',
      startedAt: 0,
      log: { debug() {}, info() {}, warn() {}, error() {}, child: () => ctx.log } as RequestContext['log'],
      endpoint: 'chat',
    });
    ctx.request = codec.decode(raw);
    return ctx;
  };
  const run = (raw: string) => () => stage.run(decoded(raw), next);
  const results = [
    await measure('plain request (decode + prompt stage pass-through)', run(BODIES.plain)),
    await measure('plain request, decode only (no prompt stage)', async () => next(decoded(BODIES.plain))),
    await measure('prompt by label, 3 variables (decode + render)', run(BODIES.prompt)),
    await measure('prompt through a 50/50 experiment (+ sticky hash)', run(BODIES.experiment)),
  ];
  if (values.json) {
    console.log(JSON.stringify({ iterations: ITERATIONS, node: process.version, results }));
    return;
  }
  console.log(`prompt rendering cost per request (${ITERATIONS} iterations, Node ${process.version})\n`);
  console.log('| case | median µs | p99 µs | CPU µs/request |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.median_us.toFixed(1)} | ${r.p99_us.toFixed(1)} | ${r.cpu_us.toFixed(1)} |`,
    );
  }
  const [plain, , prompt] = results as [Measured, Measured, Measured];
  console.log(`\nprompt − plain: ${(prompt.median_us - plain.median_us).toFixed(1)} µs (median)`);
}

await main();
