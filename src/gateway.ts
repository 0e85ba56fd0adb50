/**
 * Assembles a gateway from a validated config and the environment's secrets: logger, pooled dispatcher,
 * providers, resolver, pipeline, auth and the HTTP app. Used by main.ts and by tests (which pass their own
 * log destination and clock).
 */
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createOpenAuthenticator, createStaticKeyAuthenticator } from './auth/principal.js';
import type { Config } from './config/schema.js';
import { createChatPipeline } from './pipeline/chat.js';
import { createDispatcher } from './providers/http.js';
import { ProviderRegistry } from './providers/registry.js';
import { type RetryClock, systemClock } from './resilience/retry.js';
import { ModelResolver } from './routing/resolver.js';
import { buildApp } from './server/app.js';
import type { Lifecycle } from './server/routes/health.js';
import { createLogger, createRedactor, type Logger } from './telemetry/logger.js';

export const VERSION = '0.1.0';

export interface GatewayOptions {
  config: Readonly<Config>;
  /** Environment holding provider keys (main.ts passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  logDestination?: DestinationStream;
  clock?: RetryClock;
}

export interface Gateway {
  app: FastifyInstance;
  logger: Logger;
  lifecycle: Lifecycle;
  /** Names of the providers that can serve (credentials present), and the configured aliases. */
  offered: { providers: string[]; routes: string[] };
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Builds a gateway (not yet listening).
 *
 * @example
 * const gw = await createGateway({ config: loadConfig({ env: process.env }), env: process.env });
 * await gw.app.listen({ port: 8000 });
 */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, env } = options;
  const logger = createLogger({ level: config.log.level, destination: options.logDestination });
  const dispatcher = createDispatcher({
    connectionsPerOrigin: config.upstream.connections_per_origin,
    keepAliveTimeoutMs: config.upstream.keep_alive_timeout_ms,
    connectTimeoutMs: config.upstream.connect_timeout_ms,
    maxResponseBytes: config.upstream.max_response_bytes,
  });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher });
  const resolver = new ModelResolver(config, registry);
  const redact = createRedactor([
    ...registry.secrets(),
    ...(env.GATEWAY_ADMIN_KEY ? [env.GATEWAY_ADMIN_KEY] : []),
  ]);
  const pipeline = createChatPipeline({
    retry: {
      maxAttempts: config.retry.max_attempts,
      baseDelayMs: config.retry.base_delay_ms,
      maxDelayMs: config.retry.max_delay_ms,
    },
    clock: options.clock ?? systemClock,
    attemptTimeoutMs: config.upstream.timeout_ms,
    // A longer attempt timeout (LLM_TIMEOUT=600 for reasoning models) raises the total with it.
    totalTimeoutMs: Math.max(config.upstream.total_timeout_ms, config.upstream.timeout_ms),
  });
  const authenticator =
    config.auth.mode === 'keys' ? createStaticKeyAuthenticator(config.auth.keys) : createOpenAuthenticator();
  const lifecycle: Lifecycle = { shuttingDown: false };
  const app = await buildApp({
    config,
    logger,
    registry,
    resolver,
    pipeline,
    authenticator,
    redact,
    lifecycle,
    version: VERSION,
  });

  let closing: Promise<void> | null = null;
  async function close(graceMs = config.server.shutdown_grace_ms): Promise<void> {
    closing ??= (async () => {
      lifecycle.shuttingDown = true;
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
        timer.unref();
      });
      const closed = app.close().then(() => 'closed' as const);
      const outcome = await Promise.race([closed, grace]);
      if (outcome === 'timeout') {
        logger.warn(
          { event: 'shutdown.forced', grace_ms: graceMs },
          'grace period over; closing open connections',
        );
        app.server.closeAllConnections();
        await closed;
      }
      clearTimeout(timer);
      await dispatcher.close().catch(() => undefined);
      logger.flush();
    })();
    return closing;
  }

  const offered = {
    providers: registry
      .statuses()
      .filter((p) => p.offered)
      .map((p) => p.name),
    routes: Object.keys(config.routes),
  };
  return { app, logger, lifecycle, offered, close };
}
