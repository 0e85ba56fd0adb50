/**
 * The HTTP app: Fastify with the gateway's body parsing, request ids, error envelope, routes and the
 * OpenAPI document. The pipeline endpoints (one per codec) only turn HTTP into a request context, run the
 * pipeline and write its result (JSON or SSE); admin routes come from the features' route table.
 * Everything it needs comes in as arguments (built by gateway.ts or a test).
 */

import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Authenticator, Principal } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import type { RequestContext } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import { BadRequestError } from '../core/errors.js';
import type { AdminActor, AdminRoute, DependencyCheck } from '../core/feature.js';
import { rawAnswerText } from '../core/raw-answer.js';
import { clientRequestId, createRequestIds, requestIdHeaders } from '../core/request-id.js';
import { ErrorResponseSchema } from '../endpoints/common-schema.js';
import type { FeedbackService } from '../experiments/feedback.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ModelResolver } from '../routing/resolver.js';
import type { Logger, Redactor } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { type AdminThrottle, createAdminAuth, type TenantAdminLookup } from './admin-auth.js';
import { mountAdminRoutes, unexpected } from './admin-routes.js';
import { type WorkerChannel, workerExposition } from './cluster-metrics.js';
import type { ConsoleSessions } from './console-sessions.js';
import { normalizeError, retryHeaders, toErrorBody } from './error-envelope.js';
import { createFastLane } from './fast-lane.js';
import { createHttpLayer } from './http-server.js';
import { useJsonBodies, useJsonText } from './json-body.js';
import { setNotFound } from './not-found.js';
import { documentRoute, openapiComponents } from './openapi/operations.js';
import { requestStart } from './request-start.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerFeedbackRoute } from './routes/feedback.js';
import { type Lifecycle, registerHealthRoutes } from './routes/health.js';
import { registerMetricsRoute } from './routes/metrics.js';
import { registerModelRoutes } from './routes/models.js';
import { type ResponseRoutesDeps, registerResponseRoutes } from './routes/responses.js';
import { writeStream } from './sse-writer.js';
import { answerHeaders, JSON_CONTENT_TYPE, SSE_HEADERS } from './timing.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for the pipeline endpoints only. */
    ctx: RequestContext | null;
    /** clock.now() when the request arrived. */
    arrivedAt: number;
    /** The matched route's path (`request.routeOptions.url`, read once); null: no route matched. */
    routeUrl: string | null;
    /** Who makes an admin request (set for /admin/ routes once authorised). */
    adminActor: AdminActor | null;
    /** Who calls a non-pipeline API route (GET /v1/models), once authenticated. */
    principal: Principal | null;
  }
}

export interface AppDeps {
  /** Body limit, request timeout, proxy trust, stream idle timeout. */
  server: Pick<
    Config['server'],
    'body_limit_bytes' | 'body_bytes_in_flight' | 'request_timeout_ms' | 'trust_proxy'
  > & {
    stream_idle_timeout_ms: number;
  };
  /** The effective configuration as GET /admin/config serves it (secrets masked: config/public.ts). */
  publicConfig: unknown;
  logger: Logger;
  clock: Clock;
  registry: ProviderRegistry;
  resolver: ModelResolver;
  pipeline: Pipeline;
  codecs: readonly EndpointCodec[];
  /** Authenticates the API routes outside the pipeline (GET /v1/models). */
  authenticator: Authenticator;
  redact: Redactor;
  lifecycle: Lifecycle;
  version: string;
  metrics: Metrics;
  /** A `--workers` worker's channel to the primary: `/metrics` serves the whole instance (decision 0224). */
  clusterChannel?: WorkerChannel | undefined;
  /** `GATEWAY_ADMIN_KEY`; null = the admin API is disabled. */
  adminKey: string | null;
  /** Org and team admin keys (DESIGN §7): resolves such a key to its actor; absent = global key only. */
  tenantAdmin?: TenantAdminLookup | null;
  /** Throttles wrong admin keys per address (absent: not throttled). */
  adminThrottle?: AdminThrottle | null;
  /** Dependencies reported by /health (redis, database …). */
  dependencies: Record<string, DependencyCheck>;
  /** Features' admin routes, mounted under the admin-key guard. */
  adminRoutes: readonly AdminRoute[];
  /** Stored Responses API answers (GET/DELETE /v1/responses/{id}, input_tokens …); unset: no such routes. */
  responses?: ResponseRoutesDeps;
  /** The web console: its built files and sessions; unset: no console. */
  console?: { dir: string; sessions: ConsoleSessions };
  /** Feedback on answers (POST /v1/feedback); unset: no such route. */
  feedback?: FeedbackService;
}

/** Builds the Fastify app (not listening). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { clock } = deps;
  const endpoints = new Map(deps.codecs.map((c) => [c.path, c]));
  const requestIds = createRequestIds(clock);
  // Node's server and its own answers (HTTP errors, an unread body drained): decision 0238.
  const http = createHttpLayer({ ...deps, requestIds });
  // The pipeline routes' common case skips Fastify's per-request machinery (decision 0166).
  const fastLane = createFastLane({
    clock,
    codecs: deps.codecs,
    pipeline: deps.pipeline,
    logger: deps.logger,
    requestIds,
    lifecycle: deps.lifecycle,
    closeIdleConnections: () => app.server.closeIdleConnections(),
    metrics: deps.metrics,
    redact: deps.redact,
    server: deps.server,
  });
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // The gateway logs its own start/end events (telemetry/request-telemetry.ts) with the fields of DESIGN §9.
    logController: new Fastify.LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'request_id',
    }),
    // Always the gateway's own id (never the client's X-Request-ID): usage records are unique on it.
    genReqId: () => requestIds.next(),
    bodyLimit: deps.server.body_limit_bytes,
    // A client that trickles its request (headers and body) is cut off after this long.
    requestTimeout: deps.server.request_timeout_ms,
    // Errors Fastify raises before routing (a malformed URL) get the same envelope and request id.
    frameworkErrors: (error, request, reply) => {
      const gatewayError = new BadRequestError(
        error.code === 'FST_ERR_BAD_URL' ? 'The request URL is malformed.' : error.message,
      );
      void (reply as unknown as FastifyReply)
        .code(400)
        .headers(requestIdHeaders(request.id, clientRequestId(request.headers['x-request-id'])))
        .type('application/json')
        .send(toErrorBody(gatewayError, deps.redact));
    },
    // Errors of HTTP itself (431, 400 not HTTP, 408) get the same envelope and request ids.
    clientErrorHandler: http.clientErrorHandler,
    trustProxy: deps.server.trust_proxy,
    // Node's server, made here: the fast lane sees each request first; Fastify gets the rest. Shutting
    // down: every response says `Connection: close` (keep-alive clients must not reuse it).
    serverFactory: (handler, options) =>
      http.createServer(options, (req, res) => fastLane(req, res) || handler(req, res)),
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
        // Errors carry their schema: a range violation says "between 0 and 999999" (endpoints/validation.ts).
        verbose: true,
      },
    },
  });

  // Bodies must be JSON (secure defaults): anything else is a 415, never read or parsed (json-body.ts).
  useJsonBodies(app);

  // The routes' schemas document their requests; `documentRoute` adds what each answers (documentation only:
  // a response schema would also serialise the answer, decision 0230).
  await app.register(swagger, {
    transform: documentRoute,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'LLM Gateway',
        version: deps.version,
        description: 'OpenAI-compatible gateway: one API over many LLM providers.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'Gateway API key' } },
        schemas: openapiComponents(),
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('ctx', null);
  app.decorateRequest('arrivedAt', 0);
  app.decorateRequest('routeUrl', null);
  app.decorateRequest('adminActor', null);
  app.decorateRequest('principal', null);
  const adminAuth = createAdminAuth(
    deps.adminKey,
    deps.console?.sessions ?? null,
    deps.tenantAdmin ?? null,
    deps.adminThrottle ?? null,
  );
  app.addHook(
    'onRequest',
    requestStart({
      clock,
      endpoints,
      pipeline: deps.pipeline,
      adminAuth,
      authenticator: deps.authenticator,
      lifecycle: deps.lifecycle,
    }),
  );

  // HTTP RED metrics of every route; shutting down: close idle keep-alive connections.
  // A callback hook, not an async one: no promise per request.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeUrl ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    deps.metrics.httpRequestDuration.observe(
      { method: request.method, route },
      (clock.now() - request.arrivedAt) / 1000,
    );
    // A keep-alive connection whose last request just ended would hold the server open until the grace
    // period runs out. Close it once it is idle (next tick, after Node parks it).
    if (deps.lifecycle.shuttingDown) setImmediate(() => app.server.closeIdleConnections());
    done();
  });

  const codecsByName = new Map(deps.codecs.map((c) => [c.name, c]));
  // The fast lane writes the same envelope for its requests (fast-lane.ts `Answer.fail`): change both.
  app.setErrorHandler(async (err, request, reply) => {
    const ctx = request.ctx;
    // Outside the pipeline (admin guard, console sessions, stored responses): an error that is not the
    // gateway's own is logged with the request id, and a database that is down or hung is a 503.
    const error = normalizeError(
      ctx ? err : unexpected(err, request.routeOptions.url ?? '(no route)', request.log),
      deps.server.body_limit_bytes,
      request.headers['content-type'],
    );
    const codec = ctx ? codecsByName.get(ctx.endpoint) : undefined;
    if (ctx) {
      // Settled already when the pipeline ran; a request refused before it (413) is settled here.
      await deps.pipeline.reject(ctx, error);
      reply.headers(answerHeaders(ctx, clock.now()));
    }
    const retry = retryHeaders(error);
    if (retry) reply.headers(retry);
    // Fastify closes the connection after a body it refused unread (413, 415): closing with bytes unread
    // resets it, often before the client reads the answer. The response class drains the rest instead,
    // bounded, and destroys the connection past the bound (unread-body.ts). Shutting down, it closes.
    if (!request.raw.complete && !deps.lifecycle.shuttingDown) reply.removeHeader('connection');
    const body = toErrorBody(error, deps.redact);
    return reply
      .code(codec?.errorStatus ? codec.errorStatus(error) : error.status)
      .type('application/json')
      .send(codec?.errorBody ? codec.errorBody(error, body) : body);
  });

  // 404, or 405 with `Allow` for a path served for other methods (before the routes: it records them).
  setNotFound(app, deps.codecs, deps.redact);

  registerHealthRoutes(app, {
    registry: deps.registry,
    lifecycle: deps.lifecycle,
    version: deps.version,
    dependencies: deps.dependencies,
  });
  registerMetricsRoute(
    app,
    deps.metrics,
    deps.clusterChannel ? workerExposition(deps.metrics.registry, deps.clusterChannel) : undefined,
  );
  registerModelRoutes(app, deps.resolver, Math.floor(clock.wallNow() / 1000));
  if (deps.responses) registerResponseRoutes(app, deps.responses, deps.authenticator, deps.resolver);
  if (deps.console) await registerConsoleRoutes(app, { ...deps.console, auth: adminAuth });
  if (deps.feedback) registerFeedbackRoute(app, deps.feedback, deps.authenticator);
  await app.register(async (scope) => registerEndpoints(scope, deps));
  mountAdminRoutes(app, [
    {
      method: 'GET',
      url: '/admin/config',
      summary: 'Effective configuration (defaults ← file ← env), credentials masked',
      handler: async () => deps.publicConfig,
    },
    ...deps.adminRoutes,
  ]);
  return app;
}

/**
 * The pipeline endpoints, in their own scope: a JSON body reaches the pipeline as text (its codec parses
 * and validates it after authentication; any other media type is a 415 before that), and the body schema
 * only documents the route.
 */
function registerEndpoints(scope: FastifyInstance, deps: AppDeps): void {
  useJsonText(scope);
  for (const codec of deps.codecs) {
    scope.post(
      codec.path,
      {
        schema: {
          summary: codec.summary,
          tags: ['OpenAI-compatible'],
          body: codec.bodySchema,
          response: {
            '4xx': codec.errorSchema ?? ErrorResponseSchema,
            '5xx': codec.errorSchema ?? ErrorResponseSchema,
          },
        },
        validatorCompiler: () => () => true,
      },
      (request, reply) => serve(request, reply, codec, deps),
    );
  }
}

/** Runs the pipeline for one request and writes its result (the fast lane's `Answer.write` does the same). */
async function serve(
  request: FastifyRequest,
  reply: FastifyReply,
  codec: EndpointCodec,
  deps: AppDeps,
): Promise<unknown> {
  const ctx = request.ctx as RequestContext;
  ctx.rawBody = typeof request.body === 'string' ? request.body : '';
  const run = await deps.pipeline.run(ctx);
  const { result, settled } = run;
  if (result.kind === 'json') {
    try {
      reply.headers(answerHeaders(ctx, deps.clock.now()));
      // The upstream's own text when the answer is the object it was parsed into, else serialised here,
      // once: a string with its content type set goes out as it is (no Fastify serialiser).
      reply.header('content-type', JSON_CONTENT_TYPE);
      const encoded = codec.encode(result);
      return reply.send(rawAnswerText(encoded) ?? JSON.stringify(encoded));
    } finally {
      // The settle steps after the cost, once the answer went out (or could not).
      run.written();
    }
  }
  // From here on the gateway writes the response itself: nothing is retried after the first byte.
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      ...answerHeaders(ctx, deps.clock.now()),
      ...SSE_HEADERS,
    });
  } catch (err) {
    // Nothing can be sent any more; never leave the client or the upstream hanging.
    result.end({ complete: false, error: err });
    res.destroy();
    return;
  }
  const encoding = codec.stream;
  if (!encoding) {
    result.end({ complete: false, error: new Error(`${codec.name} cannot stream`) });
    res.destroy();
    return;
  }
  await writeStream(res, ctx, result, {
    encoding,
    idleTimeoutMs: deps.server.stream_idle_timeout_ms,
    redact: deps.redact,
    settled,
  });
}
