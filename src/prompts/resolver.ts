/**
 * What the prompt stage reads from the database, cached in memory (bounded):
 *
 * - compiled versions, per (prompt, version), for good: versions are immutable;
 * - label → version, whether a prompt is archived, experiments and the experiment attached to a label, for
 *   `prompts.cache_ttl_ms`: a change made through this instance's admin API applies at once (the entries
 *   are dropped), another instance sees it within the TTL (decision 0110).
 *
 * When the database cannot be reached, an expired entry is served rather than failing the request; with
 * nothing cached, a prompt request fails with 503 (a plain request never reads any of this).
 */
import type { Clock } from '../core/clock.js';
import { GatewayError, NotFoundError, ServiceUnavailableError } from '../core/errors.js';
import type { Experiment } from '../experiments/assign.js';
import { ExperimentNotFoundError, type ExperimentStore } from '../experiments/store.js';
import { Lru } from './lru.js';
import { PromptNotFoundError, type PromptStore, type PromptVersion } from './store.js';
import { type CompiledPrompt, compilePrompt } from './template.js';

/** The label a reference without version or label uses. */
export const DEFAULT_LABEL = 'production';

export interface CompiledVersion {
  readonly version: PromptVersion;
  readonly compiled: CompiledPrompt;
}

export interface PromptResolverOptions {
  ttlMs: number;
  maxCached: number;
  clock: Pick<Clock, 'now'>;
  /** A database read failed (counted and logged by the feature). */
  onError(err: unknown): void;
}

export class PromptResolver {
  readonly #prompts: PromptStore;
  readonly #experiments: ExperimentStore;
  readonly #options: PromptResolverOptions;
  readonly #compiled: Lru<string, CompiledVersion>;
  readonly #labels: Lru<string, number | null>;
  readonly #archived: Lru<string, boolean>;
  readonly #experimentById: Lru<string, Experiment | null>;
  readonly #attached: Lru<string, Experiment | null>;

  constructor(prompts: PromptStore, experiments: ExperimentStore, options: PromptResolverOptions) {
    this.#prompts = prompts;
    this.#experiments = experiments;
    this.#options = options;
    const max = options.maxCached;
    this.#compiled = new Lru(max);
    this.#labels = new Lru(max);
    this.#archived = new Lru(max);
    this.#experimentById = new Lru(max);
    this.#attached = new Lru(max);
  }

  /** Entries held, for the gateway's memory report. */
  get size(): number {
    return this.#compiled.size + this.#labels.size + this.#experimentById.size + this.#attached.size;
  }

  /** Whether a prompt can be served: 404 when it does not exist or is archived. */
  async available(id: string): Promise<void> {
    if (await this.#cached(this.#archived, id, () => this.#fetchArchived(id))) {
      throw new NotFoundError(`Prompt '${id}' is archived.`);
    }
  }

  /** A version, compiled (404 for an unknown or archived prompt or version). */
  async compiled(id: string, version: number): Promise<CompiledVersion> {
    await this.available(id);
    const key = `${id}@${version}`;
    const hit = this.#compiled.get(key, 0);
    if (hit) return hit;
    const stored = await this.#read(() => this.#prompts.version(id, version), undefined);
    const entry = { version: stored, compiled: compilePrompt(stored.messages, stored.variables) };
    this.#compiled.set(key, entry);
    return entry;
  }

  /** The version a label points at (404 when the prompt does not exist or the label is not set). */
  async labelVersion(id: string, label: string): Promise<number> {
    const version = await this.#cached(this.#labels, `${id}#${label}`, async () => {
      const found = await this.#prompts.label(id, label);
      this.#archived.set(id, found.archived, this.#expiry());
      return found.version;
    });
    if (version === null) throw new NotFoundError(`Prompt '${id}' has no label '${label}'.`);
    return version;
  }

  /** An experiment by id (404 when unknown). */
  async experiment(id: string): Promise<Experiment> {
    const found = await this.#cached(this.#experimentById, id, () =>
      this.#experiments.get(id).catch((err: unknown) => {
        if (err instanceof ExperimentNotFoundError) return null;
        throw err;
      }),
    );
    if (!found) throw new NotFoundError(`No experiment '${id}'.`);
    return found;
  }

  /** The running experiment attached to a prompt's label, if any. */
  attached(id: string, label: string): Promise<Experiment | null> {
    return this.#cached(this.#attached, `${id}#${label}`, () => this.#experiments.attached(id, label));
  }

  /** A prompt changed through this instance (new label, archived): forget what is cached about it. */
  forgetPrompt(id: string): void {
    this.#archived.delete(id);
    this.#labels.deleteWhere((key) => key.startsWith(`${id}#`));
    this.#attached.deleteWhere((key) => key.startsWith(`${id}#`));
  }

  /** An experiment changed through this instance: forget it (and every label attachment). */
  forgetExperiment(id: string): void {
    this.#experimentById.delete(id);
    this.#attached.deleteWhere(() => true);
  }

  #expiry(): number {
    return this.#options.clock.now() + this.#options.ttlMs;
  }

  async #fetchArchived(id: string): Promise<boolean> {
    return (await this.#prompts.label(id, DEFAULT_LABEL)).archived;
  }

  /** A TTL-cached read; an expired entry is served when the database fails. */
  async #cached<V>(cache: Lru<string, V>, key: string, load: () => Promise<V>): Promise<V> {
    const hit = cache.get(key, this.#options.clock.now());
    if (hit !== undefined) return hit;
    const value = await this.#read(load, cache.stale(key));
    cache.set(key, value, this.#expiry());
    return value;
  }

  async #read<V>(load: () => Promise<V>, stale: V | undefined): Promise<V> {
    try {
      return await load();
    } catch (err) {
      if (err instanceof PromptNotFoundError) throw new NotFoundError(err.message);
      if (err instanceof GatewayError) throw err;
      this.#options.onError(err);
      if (stale !== undefined) return stale;
      throw new ServiceUnavailableError('Prompts are unavailable right now (database); retry later.');
    }
  }
}
