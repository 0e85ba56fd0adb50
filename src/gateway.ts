/**
 * The composition root: config → stores → features → pipeline → server. Assembles a gateway from a
 * validated config and the environment's secrets. Used by main.ts and by tests (which pass their own log
 * destination and clock).
 */

import { fileURLToPath } from 'node:url';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { createAccountingFeatures } from './accounting/feature.js';
import { FailureThrottle } from './auth/failure-throttle.js';
import { createAuthFeature } from './auth/feature.js';
import { type CacheFeatureOptions, createCacheFeature, disabledCacheFeature } from './cache/feature.js';
import { publicConfig } from './config/public.js';
import { redisConfigured } from './config/redis-schema.js';
import type { Config } from './config/schema.js';
import { type Clock, systemClock } from './core/clock.js';
import type { EndpointCodec } from './core/endpoint.js';
import type { DependencyCheck, Feature } from './core/feature.js';
import { LiveList } from './core/live-list.js';
import { createChatCodec, createChatValidator } from './endpoints/chat/codec.js';
import { createSchemaCompiler } from './endpoints/compile.js';
import { createCompletionsCodec } from './endpoints/completions/codec.js';
import { createEmbeddingsCodec } from './endpoints/embeddings/codec.js';
import { createMessagesCodec } from './endpoints/messages/codec.js';
import { COUNT_TOKENS_PATH, createCountTokens } from './endpoints/messages/count-tokens.js';
import { anthropicErrorBody, anthropicErrorStatus } from './endpoints/messages/errors.js';
import { messagesStage } from './endpoints/messages/stage.js';
import { createPromptCompletionsCodec } from './endpoints/prompts/codec.js';
import { createResponsesCodec } from './endpoints/responses/codec.js';
import { responsesStage } from './endpoints/responses/stage.js';
import { ResponseStore } from './endpoints/responses/store.js';
import { createEvalFeature } from './eval/store.js';
import { createGuardrailsFeature } from './guardrails/feature.js';
import { createCallStage } from './pipeline/call.js';
import { createPipeline, type Pipeline } from './pipeline/pipeline.js';
import { decodeStage, resolveStage } from './pipeline/stages.js';
import { createPromptsFeature } from './prompts/feature.js';
import { createDispatcher } from './providers/http.js';
import { ProviderRegistry } from './providers/registry.js';
import { createRateLimitFeature } from './ratelimit/feature.js';
import { createRoutingFeature } from './routing/feature.js';
import { describeOffer, type Offered } from './routing/offered.js';
import { ModelResolver, unknownModelMessage } from './routing/resolver.js';
import { buildApp } from './server/app.js';
import type { WorkerChannel } from './server/cluster-metrics.js';
import { ConsoleSessions } from './server/console-sessions.js';
import { registerCountTokensRoute } from './server/routes/count-tokens.js';
import type { Lifecycle } from './server/routes/health.js';
import { responseRoutes } from './server/routes/responses.js';
import { closeGateway } from './server/shutdown.js';
import { type Database, openAtStart, openDatabase } from './stores/database.js';
import type { FeatureDeps } from './stores/deps.js';
import { connectRedis } from './stores/redis-settings.js';
import { createLogger, createRedactor, type Logger } from './telemetry/logger.js';
import { createMetrics, type Metrics } from './telemetry/metrics.js';
import { createModelLabeler } from './telemetry/model-label.js';
import { createAttemptInstrumentation } from './telemetry/provider-attempt.js';
import { createTelemetryFeature } from './telemetry/request-telemetry.js';
import { createTracing } from './telemetry/tracing.js';
import { endUserStage } from './tenancy/end-user.js';
import { limitsOf } from './tenancy/limits.js';

export const VERSION = '0.1.0';
/** How long a console sign-in lasts (decision 0121). */
const CONSOLE_SESSION_TTL_MS = 8 * 3_600_000;

export interface GatewayOptions {
  config: Readonly<Config>;
  /** Environment holding provider keys (main.ts passes process.env). */
  env: Readonly<Record<string, string | undefined>>;
  logDestination?: DestinationStream;
  clock?: Clock;
  /** Tests: export spans here (turns tracing on without an OTLP endpoint). */
  traceExporter?: SpanExporter;
  /** Cache parts replacing the configured ones (tests: a deterministic embedder). */
  cache?: CacheFeatureOptions;
  /** A `--workers` worker's IPC channel to the primary: `/metrics` then serves the instance (decision 0224). */
  clusterChannel?: WorkerChannel;
}

export interface Gateway {
  app: FastifyInstance;
  /** The validated configuration the gateway runs with. */
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  pipeline: Pipeline;
  /** The pipeline endpoints' codecs (`npm start` warms their decoding before the port opens, decision 0205). */
  codecs: readonly EndpointCodec[];
  /** The shared stores (Redis when configured; the database, opened on first use). */
  stores: Pick<FeatureDeps, 'redis' | 'database'>;
  lifecycle: Lifecycle;
  /** Names of the providers that can serve (credentials present), and the configured aliases. */
  offered: Offered;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes everything. */
  close(graceMs?: number): Promise<void>;
  /**
   * Entries in the in-process maps keyed by what clients send, each bounded
   * (docs/decisions/0085-bounded-input.md); for tests and diagnostics.
   */
  memory(): Record<string, number>;
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
  const metrics = createMetrics({ sharedDailyCost: redisConfigured(config.redis) });
  const clock = options.clock ?? systemClock;

  // Stores, built once.
  const redis = await connectRedis(config, env, logger, metrics, clock);
  let database: Database | null = null;
  const deps: FeatureDeps = {
    logger,
    metrics,
    clock,
    redis,
    database() {
      database ??= openDatabase(
        { url: config.database.url, dataDir: config.database.data_dir },
        { logger, metrics, clock },
      );
      return database;
    },
  };
  // The database opens now, not at the first usage batch or key lookup (that stalled requests in flight),
  // when a feature uses it on the request path. A PGlite directory held by another process fails the start.
  const openedAtStart = usesDatabaseAtStart(config);
  if (openedAtStart) {
    try {
      await openAtStart(deps.database(), config.database.url ? 5_000 : 120_000, logger);
    } catch (err) {
      await redis?.close();
      throw err;
    }
  }
  const dispatcher = createDispatcher({
    connectionsPerOrigin: config.upstream.connections_per_origin,
    keepAliveTimeoutMs: config.upstream.keep_alive_timeout_ms,
    connectTimeoutMs: config.upstream.connect_timeout_ms,
    maxResponseBytes: config.upstream.max_response_bytes,
  });
  const registry = new ProviderRegistry(config.providers, env, { dispatcher, clock });
  const resolver = new ModelResolver(config, registry);
  const redact = createRedactor([
    ...registry.secrets(),
    ...(env.GATEWAY_ADMIN_KEY ? [env.GATEWAY_ADMIN_KEY] : []),
  ]);
  const tracing = await createTracing(
    {
      endpoint: config.telemetry.otlp_endpoint,
      serviceName: config.telemetry.service_name,
      serviceVersion: VERSION,
      exporter: options.traceExporter,
      redact,
    },
    { metrics, logger, clock },
  );

  // Features, each from its config slice and the stores it uses.
  const guardrails = createGuardrailsFeature(config.guardrails, deps);
  const auth = createAuthFeature(
    {
      auth: config.auth,
      tiers: Object.keys(config.rate_limit.tiers),
      rateLimit: config.rate_limit,
      guardrailPolicies: guardrails.book.names(),
      endUserDefaults: limitsOf(config.tenancy.end_user),
    },
    deps,
  );
  const rateLimit = createRateLimitFeature(config.rate_limit, deps, {
    tierOf: (u) => auth.keys.tierOf(u),
    principalOfKey: (id) => auth.keys.principalOfKey(id),
  });
  const { budgets, accounting, priceOf } = createAccountingFeatures(
    {
      accounting: config.accounting,
      budgets: config.budgets,
      pricing: config.pricing,
      databaseDataDir: config.database.data_dir,
      redisKeyPrefix: config.redis.key_prefix,
    },
    deps,
  );
  const cache = createCacheFeature(
    config.cache,
    {
      ...deps,
      selfUrl: `http://127.0.0.1:${config.server.port}`,
      embeddingApiKey: env.SEMANTIC_CACHE_EMBEDDING_API_KEY,
    },
    options.cache,
  );
  // Routing: strategies, breakers, latency; the `cost` strategy prices deployments with the pricing table.
  const routing = createRoutingFeature(config.routing, deps, resolver, { prices: priceOf });
  const telemetry = createTelemetryFeature({
    metrics,
    tracing,
    clock,
    redact,
    modelLabel: createModelLabeler(config),
    bodies: config.log.bodies ? { maxChars: config.telemetry.log_body_max_chars, redact } : null,
  });
  const compile = createSchemaCompiler();
  const prompts = createPromptsFeature(
    { prompts: config.prompts, feedback: config.feedback },
    deps,
    createChatValidator(compile),
    (model) => unknownModelMessage(resolver, model),
  );
  // Feedback on a semantic hit reported wrong raises the score its entry needs (decision 0174).
  cache?.observeFeedback(prompts.feedback);
  // Closed in this order after the server stopped: telemetry last, so spans of the others are flushed.
  const features: Feature[] = [
    auth,
    prompts,
    rateLimit,
    budgets,
    routing,
    cache ?? disabledCacheFeature(),
    accounting,
    createEvalFeature({ database: deps.database, now: () => clock.wallNow() }),
    telemetry,
  ];

  // What features open at start-up (the embedding model) is open before the gateway serves.
  await Promise.all(features.map((f) => f.ready?.()));

  const responseStore = new ResponseStore(deps.database);
  const codecs = [
    createChatCodec(compile),
    createCompletionsCodec(compile),
    createEmbeddingsCodec(compile),
    createMessagesCodec(compile),
    createResponsesCodec(compile, clock),
    createPromptCompletionsCodec(compile),
  ];
  const pipeline = createPipeline({
    open: [telemetry.open],
    authenticate: auth.authenticate,
    decode: decodeStage(new Map(codecs.map((c) => [c.name, c]))),
    prompt: prompts.stage,
    resolve: resolveStage(resolver, clock),
    endpoint: [responsesStage(responseStore, deps), messagesStage()],
    admit: [endUserStage(), ...(rateLimit.admit ? [rateLimit.admit] : []), budgets.admit],
    price: accounting.price,
    guard: guardrails.stage,
    cache: cache?.stage ?? null,
    route: routing.route,
    call: createCallStage({
      retry: {
        maxAttempts: config.retry.max_attempts,
        baseDelayMs: config.retry.base_delay_ms,
        maxDelayMs: config.retry.max_delay_ms,
      },
      clock,
      attemptTimeoutMs: config.upstream.timeout_ms,
      // A longer attempt timeout (LLM_TIMEOUT=600 for reasoning models) raises the total with it.
      totalTimeoutMs: Math.max(config.upstream.total_timeout_ms, config.upstream.timeout_ms),
      streamIdleTimeoutMs: config.upstream.stream_idle_timeout_ms,
      router: routing.router,
      instrument: createAttemptInstrumentation(metrics, () => clock.now()),
    }),
    settle: {
      cost: accounting.cost,
      usage: accounting.record,
      budgets: budgets.settle,
      ratelimit: rateLimit.settle,
      telemetry: telemetry.settle,
    },
    onStepError: (step, ctx, err) =>
      ctx.log.error({ event: 'pipeline.step_error', step, err }, 'a pipeline step failed'),
  });

  const dependencies: Record<string, DependencyCheck> = {};
  if (redis) dependencies.redis = () => redis.ping();
  for (const feature of features) if (feature.health) dependencies[feature.name] = feature.health;
  // Reported once a feature opened it (keys, usage records); never opened just for /health.
  dependencies.database = async () => (database ? database.ping() : { status: 'unused' });
  const lifecycle: Lifecycle = {
    shuttingDown: false,
    inflight: new LiveList(),
    database: () =>
      database === null
        ? { status: 'unused', blocking: false }
        : database.isReady()
          ? { status: 'open', blocking: false }
          : { status: 'opening', blocking: openedAtStart && database.kind === 'pglite' },
  };
  const { authenticator } = auth;
  // Token counting (count_tokens, input_tokens): each provider call bounded.
  const counting = { compile, authenticator, resolver, timeoutMs: config.upstream.timeout_ms };
  const app = await buildApp({
    server: {
      body_limit_bytes: config.server.body_limit_bytes,
      body_bytes_in_flight: config.server.body_bytes_in_flight,
      request_timeout_ms: config.server.request_timeout_ms,
      trust_proxy: config.server.trust_proxy,
      stream_idle_timeout_ms: config.upstream.stream_idle_timeout_ms,
    },
    publicConfig: publicConfig(config),
    logger,
    clock,
    registry,
    resolver,
    pipeline,
    codecs,
    authenticator,
    redact,
    lifecycle,
    version: VERSION,
    metrics,
    clusterChannel: options.clusterChannel,
    adminKey: env.GATEWAY_ADMIN_KEY || null,
    tenantAdmin: config.auth.mode === 'keys' ? auth.keys : null,
    adminThrottle: new FailureThrottle(config.auth.failure_throttle, clock),
    dependencies,
    adminRoutes: features.flatMap((f) => f.routes ?? []),
    responses: responseRoutes(responseStore, counting),
    // The console's build sits in dist/console/ whether this file runs from dist/ or from src/ (tsx).
    console: {
      dir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
      sessions: new ConsoleSessions({ database: deps.database, clock, ttlMs: CONSOLE_SESSION_TTL_MS }),
    },
    feedback: prompts.feedback,
  });

  await registerCountTokensRoute(app, {
    path: COUNT_TOKENS_PATH,
    handle: createCountTokens(counting),
    errorBody: anthropicErrorBody,
    errorStatus: anthropicErrorStatus,
    redact,
    bodyLimitBytes: config.server.body_limit_bytes,
  });

  let closing: Promise<void> | null = null;
  const close = (graceMs = config.server.shutdown_grace_ms): Promise<void> => {
    lifecycle.shuttingDown = true;
    closing ??= closeGateway({
      app,
      graceMs,
      logger,
      features,
      inflight: lifecycle.inflight,
      others: [() => dispatcher.close(), () => redis?.close(), () => database?.close()],
    });
    return closing;
  };

  const offered = describeOffer(registry, resolver, Object.keys(config.routes));
  const memory = () => {
    const keys = auth.keys.stats();
    const limiter = rateLimit.limiter as { size?: number };
    return {
      resolver_memo: resolver.memoSize,
      routing_latency: routing.router.latency.size,
      routing_breakers: routing.router.size,
      auth_negative: keys.negative,
      auth_throttled_sources: keys.throttledSources,
      ratelimit_buckets: limiter.size ?? 0,
      prompts_cached: prompts.resolver.size,
      feedback_recent_requests: prompts.feedback.recentSize,
    };
  };
  return {
    app,
    config,
    logger,
    metrics,
    clock,
    pipeline,
    codecs,
    stores: deps,
    lifecycle,
    offered,
    close,
    memory,
  };
}

/**
 * Whether a feature uses the database on the request path: usage records, or database keys as the only
 * key source (with config keys the database is consulted only for unknown keys, opened on first use).
 */
function usesDatabaseAtStart(config: Readonly<Config>): boolean {
  return config.accounting.enabled || (config.auth.mode === 'keys' && config.auth.keys.length === 0);
}
