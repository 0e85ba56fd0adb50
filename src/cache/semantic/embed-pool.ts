/**
 * The embedding pool (DESIGN §6, §14; decision 0097): the local embedding model runs in worker threads, never
 * on the event loop, so a semantic lookup costs the request path a message round trip instead of ≈ 10 ms of
 * CPU.
 *
 * - `size` workers (default: cores − 1, at least 1), each loading the model once at start; `ready()`
 *   resolves when every worker has loaded it (the gateway opens its port after that).
 * - A bound on the texts waiting or running in the pool (`maxQueue`). When a call would pass it — or the
 *   pool is still loading, or every worker died — the call is refused at once with `EmbedderBusyError`:
 *   the semantic lookup is skipped (the request goes on as an exact miss), never queued behind the others.
 *   Skips are counted in `llm_semantic_lookups_skipped_total{reason}`.
 * - The caller's signal (the semantic cache's bounded wait) stops waiting at once; the worker's answer is
 *   then dropped.
 * - A worker that crashes is replaced (at most once a second); its calls in flight fail.
 *
 * @example
 * const pool = new EmbeddingPool({ size: 1, maxQueue: 32 }, { logger, metrics });
 * await pool.ready();
 * const [vector] = await pool.embed(['How do I cancel my subscription?'], AbortSignal.timeout(200));
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type Clock, systemClock } from '../../core/clock.js';
import { wasmOptimiserNeeded } from '../../core/wasm-tiering.js';
import type { FromWorker, ToWorker, WorkerSettings } from './embed-worker.js';
import { type EmbedderLogger, type EmbedderMetrics, MAX_EMBED_CHARS } from './embedders.js';
import type { Embedder } from './types.js';

/** Why a call was not embedded: the pool is full, still loading, or has no live worker. */
export class EmbedderBusyError extends Error {
  constructor(readonly reason: 'saturated' | 'loading' | 'unavailable') {
    super(`embedding pool ${reason}: semantic lookup skipped`);
    this.name = 'EmbedderBusyError';
  }
}

export interface EmbeddingPoolOptions {
  /** Worker threads; default `defaultPoolSize()`. */
  size?: number;
  /** Most texts waiting or running in the pool at once. */
  maxQueue: number;
  /** Test hook passed to every worker (a fake model with a fixed run time). */
  worker?: WorkerSettings;
}

export interface EmbeddingPoolDeps {
  logger: EmbedderLogger;
  metrics: EmbedderMetrics & { semanticSkipped: { inc(labels: { reason: string }): void } };
  clock?: Pick<Clock, 'now'>;
}

/** Cores − 1 (one is the event loop's), at least 1. */
export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

/**
 * One request to a worker. Its callbacks are dropped once it ends: the jobs map churns with every lookup,
 * and V8 keeps the tables a churning map leaves behind alive through scavenges (decision 0191), so a
 * finished job must not reach its caller's promise (and through it the request).
 */
interface Job {
  texts: number;
  resolve: (vectors: Float32Array[]) => void;
  reject: (error: Error) => void;
}

const ended = (): void => undefined;

/** Empties a job that ended (the caller took its callbacks first). */
function release(job: Job): void {
  job.resolve = ended;
  job.reject = ended;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  jobs: Map<number, Job>;
  /** Texts sent to this worker and not answered yet. */
  load: number;
}

/**
 * How a worker starts: the compiled module next to this one (dist/), or — running from source under tsx
 * (development, tests) — a bootstrap that registers tsx in the worker first (Node 20 workers do not inherit
 * the parent's `--import` hooks for their entry module).
 */
function workerEntry(): { entry: string | URL; eval: boolean } {
  if (!import.meta.url.endsWith('.ts'))
    return { entry: new URL('./embed-worker.js', import.meta.url), eval: false };
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const source = JSON.stringify(new URL('./embed-worker.ts', import.meta.url).href);
  return {
    entry: `import(${tsx}).then((tsx) => { tsx.register(); return import(${source}); })`,
    eval: true,
  };
}

export class EmbeddingPool implements Embedder {
  readonly id = 'local:use-lite';
  #dimensions = 512;
  readonly #size: number;
  readonly #maxQueue: number;
  readonly #slots: Slot[] = [];
  readonly #deps: EmbeddingPoolDeps;
  readonly #options: EmbeddingPoolOptions;
  readonly #ready: Promise<void>;
  #pending = 0;
  #nextId = 1;
  #closed = false;
  /** Some worker has loaded the model at least once (before that, a refusal says `loading`). */
  #loaded = false;
  #lastRespawn = Number.NEGATIVE_INFINITY;

  constructor(options: EmbeddingPoolOptions, deps: EmbeddingPoolDeps) {
    this.#size = Math.max(1, options.size ?? defaultPoolSize());
    this.#maxQueue = Math.max(1, options.maxQueue);
    this.#deps = deps;
    this.#options = options;
    const started = this.#now();
    const loads: Promise<void>[] = [];
    for (let i = 0; i < this.#size; i++) loads.push(this.#spawn(i));
    this.#ready = Promise.all(loads).then(() => {
      deps.logger.info(
        { event: 'embedder.pool_ready', workers: this.#size, loadMs: Math.round(this.#now() - started) },
        'embedding pool ready',
      );
    });
    // A pool that cannot load is reported by ready(); nothing here may be an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  get dimensions(): number {
    return this.#dimensions;
  }

  /** Resolves when every worker has loaded the model; rejects if one cannot. */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Texts waiting or running, and live workers (for /admin/cache/stats and tests). */
  stats(): { pending: number; workers: number; ready: number; maxQueue: number } {
    return {
      pending: this.#pending,
      workers: this.#slots.length,
      ready: this.#slots.filter((s) => s.ready).length,
      maxQueue: this.#maxQueue,
    };
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.#closed) return Promise.reject(new Error('embedder closed'));
    if (signal?.aborted) return Promise.reject(reasonOf(signal));
    for (const text of texts) {
      if (text.length > MAX_EMBED_CHARS) {
        return Promise.reject(
          new RangeError(`text of ${text.length} characters is longer than ${MAX_EMBED_CHARS} to embed`),
        );
      }
    }
    if (texts.length === 0) return Promise.resolve([]);
    const slot = this.#leastLoaded();
    if (slot === null) return this.#skip(this.#loaded ? 'unavailable' : 'loading');
    if (this.#pending + texts.length > this.#maxQueue) return this.#skip('saturated');
    const id = this.#nextId++;
    const started = this.#now();
    const result = new Promise<Float32Array[]>((resolve, reject) => {
      slot.jobs.set(id, { texts: texts.length, resolve, reject });
    });
    slot.load += texts.length;
    this.#pending += texts.length;
    slot.worker.postMessage({ id, texts: [...texts] } satisfies ToWorker);
    result.then(
      () => this.#deps.metrics.embeddingDuration.observe((this.#now() - started) / 1000),
      () => this.#deps.metrics.dependencyErrors.inc({ dependency: 'embedder' }),
    );
    if (!signal) return result;
    // The caller stops waiting at once; the worker's answer, when it comes, is dropped.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(reasonOf(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#failJobs(slot, new Error('embedder closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #now(): number {
    return (this.#deps.clock ?? systemClock).now();
  }

  #skip(reason: EmbedderBusyError['reason']): Promise<never> {
    this.#deps.metrics.semanticSkipped.inc({ reason });
    return Promise.reject(new EmbedderBusyError(reason));
  }

  #leastLoaded(): Slot | null {
    let best: Slot | null = null;
    for (const slot of this.#slots) {
      if (slot.ready && (best === null || slot.load < best.load)) best = slot;
    }
    return best;
  }

  /** Starts worker `index`; resolves when its model is loaded. */
  #spawn(index: number): Promise<void> {
    // The model's kernels need V8's optimising compiler, which the embedded database turned off (0168).
    if (!this.#options.worker?.fake) wasmOptimiserNeeded();
    const { entry, eval: isSource } = workerEntry();
    const worker = new Worker(entry, {
      eval: isSource,
      workerData: { ...this.#options.worker, threadName: `embedder-${index}` } satisfies WorkerSettings,
      // Its own name in heap snapshots and profiles.
      name: `embedder-${index}`,
    });
    const slot: Slot = { worker, ready: false, jobs: new Map(), load: 0 };
    this.#slots[index] = slot;
    return new Promise<void>((resolveReady, rejectReady) => {
      worker.on('message', (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            slot.ready = true;
            this.#loaded = true;
            this.#dimensions = message.dimensions;
            resolveReady();
            break;
          case 'load_failed':
            rejectReady(new Error(`embedding worker could not load the model: ${message.error}`));
            void worker.terminate();
            break;
          case 'result':
          case 'error': {
            const job = slot.jobs.get(message.id);
            if (!job) break;
            slot.jobs.delete(message.id);
            const { resolve, reject } = job;
            release(job);
            slot.load -= job.texts;
            this.#pending -= job.texts;
            if (message.type === 'result') resolve(message.vectors);
            else reject(new Error(`local embedding failed: ${message.error}`));
            break;
          }
          case 'log':
            this.#deps.logger[message.level]({ ...message.obj, worker: index }, message.msg);
            break;
        }
      });
      worker.on('error', (err) => {
        this.#deps.logger.error(
          { event: 'embedder.worker_error', worker: index, err },
          'embedding worker failed',
        );
      });
      worker.on('exit', (code) => {
        slot.ready = false;
        this.#failJobs(slot, new Error(`embedding worker exited (code ${code})`));
        rejectReady(new Error(`embedding worker exited before loading (code ${code})`));
        if (this.#closed || this.#slots[index] !== slot) return;
        this.#deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
        // Replaced, but never in a tight loop: a model that crashes at once would otherwise spin.
        const wait = Math.max(0, this.#lastRespawn + 1000 - this.#now());
        this.#lastRespawn = this.#now() + wait;
        setTimeout(() => {
          if (!this.#closed && this.#slots[index] === slot) this.#spawn(index).catch(() => undefined);
        }, wait).unref();
      });
    });
  }

  #failJobs(slot: Slot, error: Error): void {
    for (const job of slot.jobs.values()) {
      const { reject } = job;
      release(job);
      this.#pending -= job.texts;
      reject(error);
    }
    slot.jobs.clear();
    slot.load = 0;
  }
}

function reasonOf(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('embedding aborted');
}
