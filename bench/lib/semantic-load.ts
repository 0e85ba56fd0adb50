/**
 * The `semantic-load` group (issue 14, decision 0159): does embedding stay off the request path? The gateway
 * runs with the semantic cache on (the local USE-Lite model in its worker-thread pool); cache-miss requests
 * at a steady rate are measured alone, then while semantic lookups run beside them. This file holds the
 * parts that are not load generation:
 *
 * - `paraphraseBody`: distinct, cacheable (temperature 0) paraphrases of support questions, so every lookup
 *   misses the exact cache and goes through an embedding;
 * - `embedderThreads` / `pinThreads`: the pool's worker threads of the gateway process (named `embedder-N`
 *   by the worker itself; for a build that does not name them, the threads that burn CPU while lookups run)
 *   and their pinning to the load generator's CPU with `taskset -p`, so the pool has a core the event
 *   loop does not use;
 * - `scrapeSemantic`: skipped lookups (`llm_semantic_lookups_skipped_total{reason}`), embedder errors and
 *   completed embeddings from the gateway's `/metrics`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const INTENTS: string[][] = [
  [
    'How do I reset my password for {s}?',
    'How can I reset the password of my {s} account?',
    'What are the steps to change a forgotten {s} password?',
    'I forgot my {s} password, how do I get a new one?',
  ],
  [
    'How do I cancel my {s} subscription?',
    'How can I stop my {s} subscription from renewing?',
    'What is the way to end a {s} subscription?',
    'I want to unsubscribe from {s}, what should I do?',
  ],
  [
    'Where can I download the invoices for {s}?',
    'How do I get a copy of my {s} invoice?',
    'Where are the billing invoices of {s} kept?',
    'Can you tell me where to find past {s} invoices?',
  ],
  [
    'How do I change the email address on my {s} account?',
    'Can I update the email linked to {s}?',
    'What are the steps to use a new email address with {s}?',
    'How can I switch my {s} login email?',
  ],
  [
    'How do I turn on two-factor authentication in {s}?',
    'How can I enable 2FA for my {s} account?',
    'Where do I set up two-step verification for {s}?',
    'What is the way to add an authenticator app to {s}?',
  ],
  [
    'How do I export my data from {s}?',
    'Can I download everything I stored in {s}?',
    'What is the way to get a full export of my {s} data?',
    'How can I back up my {s} account data?',
  ],
];
const SUBJECTS = [
  'the mobile app',
  'the web dashboard',
  'my team workspace',
  'the desktop client',
  'the family plan',
  'the student plan',
  'the business edition',
  'my old account',
  'the Android app',
  'the iPhone app',
  'the browser extension',
  'the free tier',
  'the enterprise portal',
  'the partner program',
  'the beta version',
  'my shared account',
];
const ENDINGS = [
  '',
  ' Thanks.',
  ' Please help.',
  ' I am in a hurry.',
  ' This is urgent.',
  ' Quick question.',
];

/**
 * The i-th lookup's request: a paraphrase of one of a few support questions (6 intents × 4 phrasings × 16
 * subjects × 6 endings = 2,304 distinct texts, then a request number), cacheable (temperature 0), never twice
 * the same text, so each one misses the exact cache and is embedded. Some are semantic hits of earlier ones.
 */
export function paraphraseBody(i: number, model = 'gpt-4o-mini'): string {
  const intent = INTENTS[i % INTENTS.length] as string[];
  const j = Math.floor(i / INTENTS.length);
  const phrasing = intent[j % intent.length] as string;
  const k = Math.floor(j / intent.length);
  const subject = SUBJECTS[k % SUBJECTS.length] as string;
  const m = Math.floor(k / SUBJECTS.length);
  const ending = ENDINGS[m % ENDINGS.length] as string;
  const round = Math.floor(m / ENDINGS.length);
  const text = `${phrasing.replace('{s}', subject)}${ending}${round > 0 ? ` (request ${round})` : ''}`;
  return JSON.stringify({ model, messages: [{ role: 'user', content: text }], temperature: 0 });
}

/** The semantic layer's counters in the gateway's `/metrics`. */
export interface SemanticCounters {
  /** `llm_semantic_lookups_skipped_total` by reason (saturated, loading, unavailable). */
  skipped: Record<string, number>;
  /** `llm_dependency_errors_total{dependency="embedder"}`: embeddings that failed or outlasted the bounded wait. */
  embedderErrors: number;
  /** `llm_embedding_generation_duration_seconds_count`: embeddings the pool completed. */
  embeddings: number;
}

const SKIPPED = /^llm_semantic_lookups_skipped_total\{[^}]*reason="([^"]+)"[^}]*\}\s+(\S+)/;
const EMBEDDER_ERRORS = /^llm_dependency_errors_total\{[^}]*dependency="embedder"[^}]*\}\s+(\S+)/;
const EMBEDDINGS = /^llm_embedding_generation_duration_seconds_count(?:\{[^}]*\})?\s+(\S+)/;

/** The semantic counters from `origin`'s `/metrics`; null when it could not be read. */
export async function scrapeSemantic(origin: string): Promise<SemanticCounters | null> {
  try {
    const res = await fetch(`${origin}/metrics`);
    if (!res.ok) return null;
    const out: SemanticCounters = { skipped: {}, embedderErrors: 0, embeddings: 0 };
    for (const line of (await res.text()).split('\n')) {
      const skipped = SKIPPED.exec(line);
      if (skipped)
        out.skipped[skipped[1] as string] = (out.skipped[skipped[1] as string] ?? 0) + Number(skipped[2]);
      const errors = EMBEDDER_ERRORS.exec(line);
      if (errors) out.embedderErrors += Number(errors[1]);
      const done = EMBEDDINGS.exec(line);
      if (done) out.embeddings += Number(done[1]);
    }
    return out;
  } catch {
    return null;
  }
}

/** after − before; null when either scrape failed. */
export function countersBetween(
  before: SemanticCounters | null,
  after: SemanticCounters | null,
): SemanticCounters | null {
  if (!before || !after) return null;
  const skipped: Record<string, number> = {};
  for (const [reason, n] of Object.entries(after.skipped))
    skipped[reason] = n - (before.skipped[reason] ?? 0);
  return {
    skipped,
    embedderErrors: after.embedderErrors - before.embedderErrors,
    embeddings: after.embeddings - before.embeddings,
  };
}

let ticks = 100;
try {
  ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux's USER_HZ is 100 almost everywhere.
}

function tasks(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [];
  }
}

function taskComm(pid: number, tid: number): string {
  try {
    return readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** utime + stime of one thread, seconds. */
function taskCpu(pid: number, tid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / ticks;
  } catch {
    return 0;
  }
}

/** CPU seconds of the given threads of `pid` (threads gone since are not counted). */
export function threadsCpuSeconds(pid: number, tids: number[]): number {
  let total = 0;
  for (const tid of tids) total += taskCpu(pid, tid);
  return total;
}

/** CPU seconds of every thread of `pid`, summed by thread name; the main thread is `main`. */
export function cpuByThreadName(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of tasks(pid)) {
    const name = tid === pid ? 'main' : taskComm(pid, tid).replace(/\d+$/, '#');
    out.set(name, (out.get(name) ?? 0) + taskCpu(pid, tid));
  }
  return out;
}

export interface EmbedderThreads {
  tids: number[];
  /** `name`: threads named `embedder-N`; `cpu`: the threads that burnt CPU while lookups ran. */
  how: 'name' | 'cpu' | 'none';
}

/**
 * The embedding pool's threads in gateway process `pid`. The worker names its OS thread `embedder-N`; a
 * build that does not is driven with `drive()` (a burst of lookups) and the threads other than the main
 * one that used at least a quarter of the busiest one's CPU meanwhile are taken (the model runs on the
 * worker's own thread: TensorFlow.js' WebAssembly backend is single-threaded on Node).
 */
export async function embedderThreads(pid: number, drive: () => Promise<void>): Promise<EmbedderThreads> {
  const named = tasks(pid).filter((tid) => taskComm(pid, tid).startsWith('embedder'));
  if (named.length > 0) return { tids: named, how: 'name' };
  const before = new Map(tasks(pid).map((tid) => [tid, taskCpu(pid, tid)]));
  await drive();
  const used = tasks(pid)
    .filter((tid) => tid !== pid)
    .map((tid) => ({ tid, cpu: taskCpu(pid, tid) - (before.get(tid) ?? 0) }))
    .sort((a, b) => b.cpu - a.cpu);
  const top = used[0]?.cpu ?? 0;
  if (top < 0.05) return { tids: [], how: 'none' };
  return { tids: used.filter((u) => u.cpu >= top / 4).map((u) => u.tid), how: 'cpu' };
}

/** `taskset -p -c <cpus> <tid>` for each thread; the ones that could be pinned. */
export function pinThreads(tids: number[], cpus: string): number[] {
  const done: number[] = [];
  for (const tid of tids) {
    try {
      execFileSync('taskset', ['-p', '-c', cpus, String(tid)], { stdio: 'ignore' });
      done.push(tid);
    } catch {
      // the thread is gone, or taskset is missing
    }
  }
  return done;
}

/** Where the pool's threads ended up, for the report. */
export interface SemanticPinning {
  /** The gateway's event loop (and the rest of its threads). */
  gatewayCpus: string | null;
  /** The pool's threads, after `taskset -p`. */
  embedderCpus: string | null;
  tids: number[];
  how: EmbedderThreads['how'];
  note: string;
}
