/**
 * The configured parts of the semantic cache, from the `cache.semantic` config section: the embedder
 * (`local` USE-Lite in process, or `provider`: an OpenAI-compatible /v1/embeddings) and the match guard.
 */
import type { GatewayServices } from '../../gateway.js';
import { createEmbedder } from './embedders.js';
import { createMatchGuard } from './guards.js';
import type { Embedder, MatchGuard } from './types.js';

/**
 * The configured embedder. The provider embedder defaults to this gateway's own `/v1/embeddings` (so any
 * routed embedding model — OpenAI, a self-hosted TEI or Ollama — can serve), with the bearer key from
 * `SEMANTIC_CACHE_EMBEDDING_API_KEY` when the gateway requires keys.
 *
 * @example
 * const embedder = createConfiguredEmbedder(services); // local: starts loading its model at once
 */
export function createConfiguredEmbedder(services: GatewayServices): Embedder {
  const settings = services.config.cache.semantic;
  const apiKey = services.env.SEMANTIC_CACHE_EMBEDDING_API_KEY;
  return createEmbedder(
    {
      kind: settings.embedder,
      model: settings.embedding_model,
      baseUrl: settings.embedding_base_url ?? `http://127.0.0.1:${services.config.server.port}`,
      ...(apiKey ? { apiKey } : {}),
    },
    { logger: services.logger, metrics: services.metrics },
  );
}

/** The configured guard: `SEMANTIC_CACHE_THRESHOLD`, else the guard module's measured default. */
export function createConfiguredGuard(services: GatewayServices): MatchGuard {
  const threshold = services.config.cache.semantic.threshold;
  return createMatchGuard(threshold === undefined ? {} : { threshold });
}
