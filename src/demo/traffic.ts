/**
 * Demo traffic: requests through the gateway with the seeded key, so the console has something to show —
 * a burst at start, then one every few seconds. Prompts repeat, so some answers come from the cache; some
 * stream; some are embeddings. Failures are ignored (the request log shows them).
 */
import type { Clock } from '../core/clock.js';

export interface TrafficOptions {
  /** The gateway's base URL. */
  url: string;
  apiKey: string;
  chatModels: readonly string[];
  embeddingModels: readonly string[];
  clock: Pick<Clock, 'sleep' | 'random'>;
  /** Mean pause between requests after the first burst. */
  intervalMs: number;
  burst: number;
  signal: AbortSignal;
}

const PROMPTS = [
  'Summarise the benefits of an LLM gateway in one sentence.',
  'Write a haiku about rate limits.',
  'What is a circuit breaker?',
  'Translate "good morning" into French.',
  'Give me three names for a coffee shop.',
  'Explain retries with exponential backoff.',
];

function pick<T>(items: readonly T[], random: () => number): T | undefined {
  return items[Math.floor(random() * items.length)];
}

/** Sends one request; resolves when its answer (or stream) is read. */
async function sendOne(o: TrafficOptions): Promise<void> {
  const random = () => o.clock.random();
  const embed = o.embeddingModels.length > 0 && random() < 0.12;
  // A popular question asked again and again: answered from the response cache after the first time.
  const popular = !embed && random() < 0.3;
  const model = popular ? o.chatModels[0] : pick(embed ? o.embeddingModels : o.chatModels, random);
  if (!model) return;
  const prompt = popular ? PROMPTS[0] : (pick(PROMPTS, random) ?? PROMPTS[0]);
  const body =
    embed || popular
      ? embed
        ? { model, input: prompt }
        : { model, messages: [{ role: 'user', content: prompt }], temperature: 0 }
      : {
          model,
          messages: [{ role: 'user', content: prompt }],
          ...(random() < 0.4 ? { stream: true, stream_options: { include_usage: true } } : {}),
        };
  const res = await fetch(`${o.url}/v1/${embed ? 'embeddings' : 'chat/completions'}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${o.apiKey}`,
      'content-type': 'application/json',
      'x-user-id': 'demo-app',
    },
    body: JSON.stringify(body),
    signal: o.signal,
  });
  await res.arrayBuffer();
}

/** Runs until `signal` aborts. */
export async function runTraffic(o: TrafficOptions): Promise<void> {
  const quiet = () => undefined;
  // The burst: three at a time, so the console's charts and log fill within seconds.
  for (let i = 0; i < o.burst && !o.signal.aborted; i += 3) {
    await Promise.all([sendOne(o), sendOne(o), sendOne(o)].map((p) => p.catch(quiet)));
  }
  while (!o.signal.aborted) {
    try {
      await o.clock.sleep(o.intervalMs * (0.5 + o.clock.random()), o.signal);
    } catch {
      return;
    }
    await sendOne(o).catch(quiet);
  }
}
