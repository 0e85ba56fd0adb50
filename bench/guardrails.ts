/**
 * `npm run bench:guardrails` — CPU cost per request of the guardrails (DESIGN §17), in process, without
 * HTTP: the default policy (`pii`) over a 1 KB prompt (plain prose; prose with four values to mask), and
 * over a 1 KB answer streamed in 4-character deltas through the sliding window. Reports the median and p99
 * of batches (µs per request) and the process CPU time per request over the whole run.
 *
 * Options: --iterations <n> (default 20000), --json (one JSON line).
 */
import { parseArgs } from 'node:util';
import type { RequestContext } from '../src/core/context.js';
import { createContext } from '../src/core/context.js';
import { completionResult } from '../src/core/result.js';
import { createGuardrailsFeature } from '../src/guardrails/feature.js';
import { PolicyBook } from '../src/guardrails/policy.js';
import { GuardSession } from '../src/guardrails/session.js';
import { StreamWindow } from '../src/guardrails/window.js';
import { createMetrics } from '../src/telemetry/metrics.js';

const { values } = parseArgs({
  options: { iterations: { type: 'string', default: '20000' }, json: { type: 'boolean', default: false } },
});
const ITERATIONS = Number(values.iterations);

const PROSE =
  'You are a helpful assistant for a travel company. Summarise the customer conversation below in three ' +
  'bullet points, keep the tone friendly and mention any follow-up the agent promised. The customer asked ' +
  'about changing the dates of a booked trip to Lisbon from the first week of May to the second week, ' +
  'whether the hotel near the river can keep the same room type, and if breakfast is still included. The ' +
  'agent confirmed the change is possible for a small fee, said the room type is available, and promised ' +
  'to send the new itinerary by the end of the day together with the updated invoice. The customer also ' +
  'asked whether travel insurance covers cancellations for medical reasons, and the agent explained the ' +
  'two plans on offer and their differences in plain words, with examples. Finally the customer thanked ' +
  'the agent and said they would call back tomorrow morning to confirm everything after talking to family. ' +
  'Please keep the summary short, neutral and free of internal jargon, and end it with the next step.';
const TAIL = ' Contact: jane.doe@example.com, +44 20 7946 0958, card 4111 1111 1111 1111, host 10.0.12.7.';
/** Exactly 1 KB (ASCII): prose, and prose ending with four values to mask. */
const KB = (text: string) => text.padEnd(1024, ' Thanks.').slice(0, 1024);
const PROSE_KB = KB(PROSE);
const WITH_PII = KB(PROSE.slice(0, 1024 - TAIL.length)).slice(0, 1024 - TAIL.length) + TAIL;

function context(text: string): RequestContext {
  const ctx = createContext({
    requestId: 'bench',
    startedAt: 0,
    log: { debug() {}, info() {}, warn() {}, error() {}, child: () => ctx.log } as RequestContext['log'],
    endpoint: 'chat',
  });
  ctx.request = {
    kind: 'chat',
    model: 'gpt-4o-mini',
    stream: false,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }] },
  };
  return ctx;
}

interface Measured {
  name: string;
  bytes: number;
  median_us: number;
  p99_us: number;
  cpu_us: number;
}

async function measure(
  name: string,
  bytes: number,
  once: () => Promise<unknown> | unknown,
): Promise<Measured> {
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
    bytes,
    median_us: samples[Math.floor(samples.length / 2)] as number,
    p99_us: samples[Math.floor(samples.length * 0.99)] as number,
    cpu_us: (used.user + used.system) / ITERATIONS,
  };
}

async function main(): Promise<void> {
  const metrics = createMetrics({ processMetrics: false });
  const feature = createGuardrailsFeature(
    { default_policy: 'pii', phone_regions: ['US', 'GB'], policies: {} },
    { metrics },
  );
  const answer = completionResult(
    {
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'ok', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
    },
    'upstream',
    null,
  );
  const next = async () => answer;
  const results: Measured[] = [];
  results.push(
    await measure('request: 1 KB prose, no PII (default policy pii)', PROSE_KB.length, () =>
      feature.stage.run(context(PROSE_KB), next),
    ),
  );
  results.push(
    await measure('request: 1 KB with 4 values to mask', WITH_PII.length, () =>
      feature.stage.run(context(WITH_PII), next),
    ),
  );
  const book = new PolicyBook({ policies: {}, phone_regions: ['US', 'GB'] });
  const policy = book.resolve([['pii']]);
  if (!policy) throw new Error('pii');
  results.push(
    await measure('answer: 1 KB streamed in 4-char deltas (window)', PROSE_KB.length, () => {
      const session = new GuardSession(policy, () => undefined);
      const w = new StreamWindow(
        session,
        session.outputScanner as NonNullable<GuardSession['outputScanner']>,
      );
      let out = '';
      for (let i = 0; i < PROSE_KB.length; i += 4) out += w.push(PROSE_KB.slice(i, i + 4));
      return out + w.flush();
    }),
  );
  if (values.json) {
    console.log(JSON.stringify({ iterations: ITERATIONS, node: process.version, results }));
    return;
  }
  console.log(`guardrails CPU cost per request (${ITERATIONS} iterations, Node ${process.version})\n`);
  console.log('| case | chars | median µs | p99 µs | CPU µs/request |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.bytes} | ${r.median_us.toFixed(1)} | ${r.p99_us.toFixed(1)} | ${r.cpu_us.toFixed(1)} |`,
    );
  }
}

await main();
