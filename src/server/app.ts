/**
 * The HTTP app: Fastify with the gateway's body parsing, request ids, auth hook, error envelope, routes and
 * the OpenAPI document. Everything it needs comes in as arguments (built by main.ts or a test).
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Authenticator } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { BadRequestError, ClientClosedError, NotFoundError, ServiceUnavailableError } from '../errors.js';
import type { ChatPipeline } from '../pipeline/chat.js';
import { createContext, type RequestContext } from '../pipeline/context.js';
import type { HookRunner } from '../pipeline/hooks.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ModelResolver } from '../routing/resolver.js';
import type { Logger, Redactor } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { RequestTelemetry } from '../telemetry/request-telemetry.js';
import { checkAdmin } from './admin-auth.js';
import { normalizeError, retryAfterSeconds, toErrorBody } from './error-envelope.js';
import { type StringBodyParser, withDepthLimit } from './json-body.js';
import { finishRequest } from './request-log.js';
import { registerChatRoutes } from './routes/chat.js';
import { EMBEDDINGS_ROUTE, registerEmbeddingRoutes } from './routes/embeddings.js';
import { type DependencyCheck, type Lifecycle, registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerModelRoutes } from './routes/models.js';
import { routingHeaders, serverTiming } from './timing.js';

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext;
  }
}

export interface AppDeps {
  config: Readonly<Config>;
  logger: Logger;
  registry: ProviderRegistry;
  resolver: ModelResolver;
  pipeline: ChatPipeline;
  authenticator: Authenticator;
  redact: Redactor;
  lifecycle: Lifecycle;
  version: string;
  hooks: HookRunner;
  metrics: Metrics;
  /** Request metrics, the `gateway.request` span and trace ids on log lines (model routes). */
  telemetry: RequestTelemetry;
  /** `GATEWAY_ADMIN_KEY`; null = the admin API is disabled. */
  adminKey: string | null;
  /** Dependencies reported by /health (redis, database …). */
  dependencies: Record<string, DependencyCheck>;
  /** Features' own routes (admin endpoints …), registered after the core routes. */
  routes: Array<(app: FastifyInstance) => void>;
}

const REQUEST_ID = /^[\w.:@+=-]{1,128}$/;
const CHAT_ROUTE = '/v1/chat/completions';

/** Whether the matched route is part of the authenticated API (health, docs and metrics stay open). */
function isApiRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/v1/') === true;
}

/** Whether the matched route is an admin endpoint (needs GATEWAY_ADMIN_KEY). */
function isAdminRoute(request: FastifyRequest): boolean {
  return request.routeOptions.url?.startsWith('/admin/') === true;
}

/** Builds the Fastify app (not listening). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The gateway logs its own start/end events (server/request-log.ts) with the fields of DESIGN §9.
    logController: new Fastify.LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: config.server.body_limit_bytes,
    // A client that trickles its request (headers and body) is cut off after this long.
    requestTimeout: config.server.request_timeout_ms,
    // Errors Fastify raises before routing (a malformed URL) get the same envelope and request id.
    frameworkErrors: (error, request, reply) => {
      const gatewayError = new BadRequestError(
        error.code === 'FST_ERR_BAD_URL' ? 'The request URL is malformed.' : error.message,
      );
      void (reply as unknown as FastifyReply)
        .code(400)
        .header('x-request-id', request.id)
        .type('application/json')
        .send(toErrorBody(gatewayError, deps.redact));
    },
    trustProxy: config.server.trust_proxy,
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
        discriminator: true,
        strict: false,
      },
    },
  });

  // Clients often send no or the wrong Content-Type (curl -d says form-urlencoded): every body is parsed
  // as JSON, with Fastify's safe parser (no __proto__ / constructor.prototype keys) and a nesting limit.
  const parseJson = withDepthLimit(app.getDefaultJsonParser('error', 'error') as StringBodyParser);
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(['application/json', '*'], { parseAs: 'string' }, parseJson);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LLM Gateway',
        version: deps.version,
        description:
          'OpenAI-compatible gateway over OpenAI, Anthropic, Gemini and OpenAI-compatible servers.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Gateway API key' } },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRequest', async (request, reply) => {
    const startedAt = performance.now();
    const route = request.routeOptions.url;
    if (route === CHAT_ROUTE || route === EMBEDDINGS_ROUTE) {
      const traceparent = request.headers.traceparent;
      request.ctx = deps.telemetry.open(
        {
          id: request.id,
          log: request.log,
          method: request.method,
          route,
          traceparent: typeof traceparent === 'string' ? traceparent : undefined,
        },
        startedAt,
      );
      request.log = request.ctx.log;
    } else {
      request.ctx = createContext(request.id, request.log, startedAt);
    }
    reply.header('x-request-id', request.id);
    const ctx = request.ctx;
    reply.raw.on('close', () => {
      if (!reply.raw.writableFinished) ctx.abort.abort(new ClientClosedError());
    });
    // Decided by the matched route, never the raw URL: `/%761/chat/completions` or an absolute-form target
    // reach the same route and must meet the same checks.
    if (isAdminRoute(request)) {
      checkAdmin(deps.adminKey, request.headers.authorization);
      return;
    }
    if (!isApiRoute(request)) return;
    if (deps.lifecycle.shuttingDown) {
      reply.header('connection', 'close');
      throw new ServiceUnavailableError('The gateway is shutting down; retry on another instance.');
    }
    // Auth for the API routes (health, docs and metrics stay open), before the body is read or validated:
    // an unauthenticated caller gets 401 whatever it sent, and learns nothing about the schema.
    const started = performance.now();
    const header = request.headers['x-user-id'];
    try {
      request.ctx.principal = await deps.authenticator.authenticate({
        authorization: request.headers.authorization,
        userIdHeader: typeof header === 'string' ? header : undefined,
      });
    } finally {
      request.ctx.timings.auth = performance.now() - started;
    }
  });

  // Successful non-stream completions end here; errors end in the error handler, streams in their route
  // (a hijacked reply still runs onResponse, so streams are skipped to log exactly one request.end).
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      (route === CHAT_ROUTE || route === EMBEDDINGS_ROUTE) &&
      reply.statusCode < 400 &&
      !request.ctx.stream
    ) {
      finishRequest(
        request.ctx,
        deps.hooks,
        { status: reply.statusCode, error: null, complete: true },
        deps.redact,
      );
    }
    // Shutting down: a keep-alive connection whose last request just ended would hold the server open
    // until the grace period runs out. Close it once it is idle (next tick, after Node parks it).
    if (deps.lifecycle.shuttingDown) setImmediate(() => app.server.closeIdleConnections());
  });

  // Shutting down: tell keep-alive clients not to reuse the connection.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (deps.lifecycle.shuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler(async (err, request, reply) => {
    const error = normalizeError(err, config.server.body_limit_bytes);
    const ctx = request.ctx as RequestContext | undefined;
    if (ctx) {
      reply.headers(ctx.responseHeaders);
      reply.headers(routingHeaders(ctx));
      reply.header('server-timing', serverTiming(ctx, performance.now()));
      finishRequest(ctx, deps.hooks, { status: error.status, error, complete: false }, deps.redact);
    }
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter !== undefined && (error.status === 429 || error.status === 503 || error.status === 502)) {
      reply.header('retry-after', String(retryAfter));
    }
    return reply.code(error.status).type('application/json').send(toErrorBody(error, deps.redact));
  });

  app.setNotFoundHandler(async (request, reply) => {
    const body = toErrorBody(
      new NotFoundError(`No route for ${request.method} ${request.url.split('?')[0]}.`),
      deps.redact,
    );
    return reply.code(404).send(body);
  });

  registerHealthRoutes(app, {
    registry: deps.registry,
    lifecycle: deps.lifecycle,
    version: deps.version,
    dependencies: deps.dependencies,
  });
  registerMetricsRoute(app, deps.metrics);
  // The effective configuration (defaults ← file ← env). It holds no secret: keys live only in env.
  app.get(
    '/admin/config',
    { schema: { tags: ['Admin'], summary: 'Effective configuration' } },
    async () => config,
  );
  registerModelRoutes(app, deps.resolver, Math.floor(Date.now() / 1000));
  registerEmbeddingRoutes(app, { resolver: deps.resolver, pipeline: deps.pipeline, hooks: deps.hooks });
  registerChatRoutes(app, {
    resolver: deps.resolver,
    pipeline: deps.pipeline,
    redact: deps.redact,
    streamIdleTimeoutMs: config.upstream.stream_idle_timeout_ms,
    hooks: deps.hooks,
  });
  for (const register of deps.routes) register(app);
  return app;
}
