/**
 * The configured parts of the semantic cache, from the `cache.semantic` config section: the embedder
 * (`local` USE-Lite in a pool of worker threads, or `provider`: an OpenAI-compatible /v1/embeddings) and the
 * matcher (the calibrated verifier, or the rule-based guards).
 */
import type { CacheConfig } from '../../config/schema.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../telemetry/logger.js';
import type { Metrics } from '../../telemetry/metrics.js';
import { EmbeddingPool } from './embed-pool.js';
import { createEmbedder } from './embedders.js';
import { createMatchGuard } from './guards.js';
import type { Embedder, MatchGuard } from './types.js';
import { createVerifier, type VerifierArtefact } from './verifier.js';
// The shipped verifier (npm run train:verifier writes it; tsc copies it to dist/).
import shippedVerifier from './verifier-model.json' with { type: 'json' };

/**
 * The configured embedder. The provider embedder defaults to this gateway's own `/v1/embeddings` (so any
 * routed embedding model — OpenAI, a self-hosted TEI or Ollama — can serve), with the bearer key from
 * `SEMANTIC_CACHE_EMBEDDING_API_KEY` when the gateway requires keys.
 *
 * @example
 * const embedder = createConfiguredEmbedder(config.cache.semantic, deps); // local: starts loading its model at once
 */
export function createConfiguredEmbedder(settings: CacheConfig['semantic'], deps: EmbedderDeps): Embedder {
  if (settings.embedder === 'local' && settings.embedding_workers !== 0) {
    // The model in worker threads (decision 0097); `embedding_workers: 0` runs it on the event loop.
    return new EmbeddingPool(
      {
        ...(settings.embedding_workers === undefined ? {} : { size: settings.embedding_workers }),
        maxQueue: settings.embedding_queue,
      },
      { logger: deps.logger, metrics: deps.metrics, clock: deps.clock },
    );
  }
  const apiKey = deps.embeddingApiKey;
  return createEmbedder(
    {
      kind: settings.embedder,
      model: settings.embedding_model,
      baseUrl: settings.embedding_base_url ?? deps.selfUrl,
      ...(apiKey ? { apiKey } : {}),
    },
    { logger: deps.logger, metrics: deps.metrics, clock: deps.clock },
  );
}

/** What the configured embedder needs besides its settings. */
export interface EmbedderDeps {
  logger: Logger;
  metrics: Metrics;
  clock: Pick<Clock, 'now'>;
  /** This gateway's own base URL (`http://127.0.0.1:<port>`), the provider embedder's default. */
  selfUrl: string;
  /** `SEMANTIC_CACHE_EMBEDDING_API_KEY`, when the gateway requires keys. */
  embeddingApiKey: string | undefined;
}

/**
 * The configured matcher: the calibrated verifier at `SEMANTIC_CACHE_MAX_FALSE_HIT_RATE` (default), or the
 * rule-based guards at `SEMANTIC_CACHE_THRESHOLD` (else the guard module's measured default). The verifier
 * was calibrated on the local embedder's cosines; with another embedder its bound is not measured, which is
 * logged once.
 */
export function createConfiguredGuard(
  settings: CacheConfig['semantic'],
  embedderId?: string,
  logger?: Pick<Logger, 'warn'>,
): MatchGuard {
  if (settings.matcher === 'guards') {
    const threshold = settings.threshold;
    return createMatchGuard(threshold === undefined ? {} : { threshold });
  }
  const artefact = shippedVerifier as unknown as VerifierArtefact;
  if (embedderId !== undefined && embedderId !== artefact.embedder) {
    logger?.warn(
      { event: 'cache.verifier_uncalibrated', embedder: embedderId, calibratedFor: artefact.embedder },
      'semantic cache: the verifier was calibrated for another embedder; its false-hit bound is not measured for this one',
    );
  }
  return createVerifier(artefact, { maxFalseHitRate: settings.max_false_hit_rate });
}
