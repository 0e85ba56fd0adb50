/**
 * A worker thread of the embedding pool (embed-pool.ts): loads the local model once, then answers
 * `{id, texts}` with `{id, vectors}` (Float32Arrays, transferred) or `{id, error}`. The model's own
 * micro-batching (embedders.ts) still applies inside the worker. Log lines go to the parent, which owns the
 * logger; metrics are the parent's too (it times each call end to end).
 */
import { writeFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../../core/clock.js';
import { createEmbedder } from './embedders.js';
import type { Embedder } from './types.js';

export type ToWorker = { id: number; texts: string[] };
export type FromWorker =
  | { type: 'ready'; dimensions: number }
  | { type: 'load_failed'; error: string }
  | { type: 'result'; id: number; vectors: Float32Array[] }
  | { type: 'error'; id: number; error: string }
  | { type: 'log'; level: 'info' | 'error'; obj: Record<string, unknown>; msg: string };

/** What the worker is told at start (`workerData`). */
export interface WorkerSettings {
  /** The OS thread's name (`embedder-N`): shown by `top -H` and `ps -L`, found by the benchmark to pin it. */
  threadName?: string;
  /** Test hook: a fake model that answers after `delayMs`, so the pool's rules are tested without weights. */
  fake?: { delayMs: number; dimensions: number; crashOn?: string };
}

function parent(): NonNullable<typeof parentPort> {
  if (!parentPort) throw new Error('embed-worker.ts runs only as a worker thread');
  return parentPort;
}

const port = parent();

const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const settings = (workerData ?? {}) as WorkerSettings;

function logTo(level: 'info' | 'error') {
  return (obj: object, msg?: string) => {
    // Errors are not structured-cloneable as-is: keep their message.
    const plain = Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
    );
    send({ type: 'log', level, obj: plain, msg: msg ?? '' });
  };
}

const NO_METRICS = {
  dependencyErrors: { inc: () => undefined },
  embeddingDuration: { observe: () => undefined },
};

function fakeEmbedder(fake: NonNullable<WorkerSettings['fake']>): Embedder {
  return {
    id: 'fake',
    dimensions: fake.dimensions,
    embed: async (texts) => {
      if (fake.crashOn !== undefined && texts.includes(fake.crashOn)) process.exit(3);
      // A busy model: the thread is blocked for the whole run, like a real model run.
      const until = systemClock.now() + fake.delayMs;
      while (systemClock.now() < until);
      return texts.map((t) => {
        const v = new Float32Array(fake.dimensions);
        v[t.length % fake.dimensions] = 1;
        return v;
      });
    },
  };
}

/** Names this OS thread (Linux: /proc/thread-self/comm, at most 15 bytes); elsewhere nothing happens. */
function nameThread(name: string | undefined): void {
  if (!name) return;
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or /proc not mounted: the thread keeps the process's name
  }
}

async function main(): Promise<void> {
  nameThread(settings.threadName);
  let embedder: Embedder;
  try {
    if (settings.fake) {
      embedder = fakeEmbedder(settings.fake);
    } else {
      const logger = { info: logTo('info'), error: logTo('error') };
      embedder = createEmbedder({ kind: 'local' }, { logger, metrics: NO_METRICS });
      // Loaded before the worker says it is ready: the first request never waits for the model.
      await embedder.embed(['warm up']);
    }
  } catch (err) {
    send({ type: 'load_failed', error: message(err) });
    return;
  }
  port.on('message', (job: ToWorker) => {
    embedder.embed(job.texts).then(
      (vectors) =>
        send(
          { type: 'result', id: job.id, vectors },
          vectors.map((v) => v.buffer as ArrayBuffer),
        ),
      (err: unknown) => send({ type: 'error', id: job.id, error: message(err) }),
    );
  });
  send({ type: 'ready', dimensions: embedder.dimensions });
}

void main();
