/**
 * Assembles a gateway from a validated config and the environment's secrets: logger, pooled dispatcher,
 * providers, resolver, pipeline, auth and the HTTP app. Used by main.ts and by tests (which pass their own
 * log destination and clock).
 */

import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createAccountingFeatures } from './accounting/feature.js';
import { createAuthFeature } from './auth/feature.js';
import { type CacheFeatureOptions, createCacheFeature } from './cache/feature.js';
import type { Config } from './config/schema.js';
import { type ChatPipeline, createChatPipeline } from './pipeline/chat.js';
import { HookRunner, type RequestHook } from './pipeline/hooks.js';
import { createDispatcher } from './providers/http.js';
import { ProviderRegistry } from './providers/registry.js';
import { createRateLimitFeature } from './ratelimit/feature.js';
import { type RetryClock, systemClock } from './resilience/retry.js';
import { createRoutingFeature } from './routing/feature.js';
import { ModelResolver } from './routing/resolver.js';
import { buildApp } from './server/app.js';
import type { DependencyCheck, Lifecycle } from './server/routes/health.js';
import { type Database, openDatabase } from './stores/database.js';
import { createRedisStore, type RedisStore } from './stores/redis.js';
import { createObservabilityFeature } from './telemetry/feature.js';
import { createLogger, createRedactor, type Logger } from './telemetry/logger.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { createModelLabeler } from './telemetry/model-label.js';
import { createAttemptInstrumentation } from './telemetry/provider-attempt.js';
import { createRequestTelemetry } from './telemetry/request-telemetry.js';
import { createTracing } from './telemetry/tracing.js';

export const VERSION = '0.1.0';

export interface GatewayOptions {
  config: Readonly<Config>;
  /** Environment holding provider keys (main.ts passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  logDestination?: DestinationStream;
  clock?: RetryClock;
  /** Tests: export spans here (turns tracing on without an OTLP endpoint). */
  traceExporter?: SpanExporter;
  /** Cache parts replacing the configured ones (tests: a deterministic embedder). */
  cache?: CacheFeatureOptions;
}

/** What every feature is built from. */
export interface GatewayServices {
  config: Readonly<Config>;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  metrics: Metrics;
  clock: RetryClock;
  /** The shared Redis connection; null when REDIS_URL is not set (memory backends then). */
  redis: RedisStore | null;
  /** The database, opened (and migrated, in the background) on first use. */
  database(): Database;
}

/**
 * A feature of the gateway (rate limits, budgets, accounting, cache …): what it adds to the request
 * lifecycle, the routes it serves, what /health reports of it and what it flushes on shutdown.
 */
export interface Feature {
  readonly name: string;
  hook?: RequestHook;
  /** Wraps the chat pipeline (the cache answers before the router is reached). */
  wrapPipeline?(inner: ChatPipeline): ChatPipeline;
  routes?(app: FastifyInstance): void;
  health?: DependencyCheck;
  /** Called after the server stopped serving: flush queues. Bounded by the feature itself. */
  close?(): Promise<void>;
}

export interface Gateway {
  app: FastifyInstance;
  logger: Logger;
  metrics: Metrics;
  services: GatewayServices;
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
  const metrics = createMetrics();
  const clock = options.clock ?? systemClock;
  const redis = config.redis.url
    ? createRedisStore(
        {
          url: config.redis.url,
          commandTimeoutMs: config.redis.command_timeout_ms,
          keyPrefix: config.redis.key_prefix,
        },
        { logger, metrics },
      )
    : null;
  // Give Redis a moment to connect so the first requests find it; start without it if it is down.
  if (redis && !(await redis.waitReady(1_000))) {
    logger.warn(
      { event: 'dependency.error', dependency: 'redis' },
      'Redis is not reachable; starting without it',
    );
  }
  let database: Database | null = null;
  const services: GatewayServices = {
    config,
    env,
    logger,
    metrics,
    clock,
    redis,
    database() {
      database ??= openDatabase(
        { url: config.database.url, dataDir: config.database.data_dir },
        { logger, metrics },
      );
      return database;
    },
  };
  const tracing = await createTracing(
    {
      endpoint: config.telemetry.otlp_endpoint,
      serviceName: config.telemetry.service_name,
      serviceVersion: VERSION,
      exporter: options.traceExporter,
    },
    { metrics, logger },
  );
  // Order matters: hooks admit in this order (rate limit before budget), the last wrapper is outermost.
  const observability = createObservabilityFeature(services, tracing);
  const auth = createAuthFeature(services);
  const rateLimit = createRateLimitFeature(services, { tierOf: (u) => auth.keys.tierOf(u) });
  const cache = createCacheFeature(services, options.cache);
  const accounting = createAccountingFeatures(services);
  const dispatcher = createDispatcher({
    connectionsPerOrigin: config.upstream.connections_per_origin,
    keepAliveTimeoutMs: config.upstream.keep_alive_timeout_ms,
    connectTimeoutMs: config.upstream.connect_timeout_ms,
    maxResponseBytes: config.upstream.max_response_bytes,
  });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher });
  const resolver = new ModelResolver(config, registry);
  // Routing: strategies, breakers, latency; the `cost` strategy prices deployments with the pricing table.
  const routing = createRoutingFeature(services, resolver, { prices: accounting.priceOf });
  const features: Feature[] = [
    auth,
    rateLimit, // before budgets: a limited request reserves nothing
    accounting.budgets,
    routing,
    // The cache wraps the routed pipeline: a hit never reaches the router or a provider.
    ...(cache ? [cache] : []),
    accounting.accounting,
    observability, // keep last: flushes spans after the others closed
  ];
  const redact = createRedactor([
    ...registry.secrets(),
    ...(env.GATEWAY_ADMIN_KEY ? [env.GATEWAY_ADMIN_KEY] : []),
  ]);
  const corePipeline = createChatPipeline({
    retry: {
      maxAttempts: config.retry.max_attempts,
      baseDelayMs: config.retry.base_delay_ms,
      maxDelayMs: config.retry.max_delay_ms,
    },
    clock,
    attemptTimeoutMs: config.upstream.timeout_ms,
    // A longer attempt timeout (LLM_TIMEOUT=600 for reasoning models) raises the total with it.
    totalTimeoutMs: Math.max(config.upstream.total_timeout_ms, config.upstream.timeout_ms),
    router: routing.router,
    instrument: createAttemptInstrumentation(metrics),
  });
  const pipeline = features.reduce((inner, feature) => feature.wrapPipeline?.(inner) ?? inner, corePipeline);
  const hooks = new HookRunner(
    features.flatMap((f) => (f.hook ? [f.hook] : [])),
    (hook, err) => logger.error({ event: 'hook.error', hook, err }, 'request hook failed in finish'),
  );
  const dependencies: Record<string, DependencyCheck> = {};
  if (redis) dependencies.redis = () => redis.ping();
  for (const feature of features) if (feature.health) dependencies[feature.name] = feature.health;
  // Reported once a feature opened it (keys, usage records); never opened just for /health.
  dependencies.database = async () => (database ? database.ping() : { status: 'unused' });
  const authenticator = auth.authenticator;
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
    hooks,
    metrics,
    telemetry: createRequestTelemetry({
      metrics,
      tracing,
      modelLabel: createModelLabeler(config),
      bodies: config.log.bodies ? { maxChars: config.telemetry.log_body_max_chars, redact } : null,
    }),
    adminKey: env.GATEWAY_ADMIN_KEY || null,
    dependencies,
    routes: features.flatMap((f) => (f.routes ? [f.routes.bind(f)] : [])),
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
      for (const feature of features) {
        await feature.close?.().catch((err: unknown) => {
          logger.error(
            { event: 'shutdown.feature_error', feature: feature.name, err },
            'feature close failed',
          );
        });
      }
      await dispatcher.close().catch(() => undefined);
      await redis?.close();
      await database?.close();
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
  return { app, logger, metrics, services, lifecycle, offered, close };
}
