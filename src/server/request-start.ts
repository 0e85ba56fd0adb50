/**
 * What happens when a request arrives, before its body is read (the app's one `onRequest` hook): request
 * id headers, the client's id in the log, the pipeline's request context (pipeline routes), the admin guard
 * (`/admin/` routes), and for the other `/v1/` routes the shutting-down refusal and authentication.
 *
 * The common case of the pipeline routes never reaches this hook: the fast lane (fast-lane.ts, decision 0166)
 * does the same for it; a change here must be made there too.
 *
 * A callback hook, not an async one: the common case (a pipeline route) is synchronous and costs no promise;
 * only the admin guard and the authentication of the non-pipeline API routes wait, and call `done` when they
 * settle (decision 0155).
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { type Authenticator, authorizationOf } from '../auth/principal.js';
import type { Clock } from '../core/clock.js';
import { createContext, type RequestContext } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import {
  BadRequestError,
  ClientClosedError,
  ForbiddenError,
  ServiceUnavailableError,
} from '../core/errors.js';
import type { LiveList } from '../core/live-list.js';
import { clientRequestId, GATEWAY_REQUEST_ID_HEADER, REQUEST_ID_HEADER } from '../core/request-id.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { AdminAuth } from './admin-auth.js';

export interface RequestStartDeps {
  clock: Clock;
  /** Pipeline endpoints by route path. */
  endpoints: ReadonlyMap<string, EndpointCodec>;
  pipeline: Pipeline;
  adminAuth: AdminAuth;
  authenticator: Authenticator;
  lifecycle: { readonly shuttingDown: boolean; readonly inflight?: LiveList<RequestContext> };
}

type OnRequest = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

/** The `onRequest` hook. @example app.addHook('onRequest', requestStart(deps)); */
export function requestStart(deps: RequestStartDeps): OnRequest {
  const { clock, endpoints, pipeline } = deps;
  return (request, reply, done) => {
    request.arrivedAt = clock.now();
    // One read of `routeOptions` (Fastify builds a new object on every read); onResponse reuses the url.
    const route = request.routeOptions;
    const url = route.url;
    request.routeUrl = url ?? null;
    const clientId = clientRequestId(request.headers['x-request-id']);
    // Every answer carries the gateway's id and the client's (echoed when usable; else the gateway's).
    reply.header(GATEWAY_REQUEST_ID_HEADER, request.id);
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.header('x-request-id', clientId ?? request.id);
    // Every line of this request's log carries the client's id too (its own id is `request_id`).
    if (clientId !== null) request.log = request.log.child({ client_request_id: clientId });
    if (url === undefined) return done();
    const codec = endpoints.get(url);
    if (codec) {
      const ctx = createContext({
        requestId: request.id,
        clientRequestId: clientId,
        startedAt: request.arrivedAt,
        log: request.log,
        endpoint: codec.name,
        path: codec.path,
        params: (request.params ?? {}) as Record<string, string>,
        headers: request.headers,
        clientIp: request.ip,
      });
      request.ctx = ctx;
      pipeline.open(ctx);
      // Fastify's own lines for this request carry the trace id too.
      request.log = ctx.log as FastifyBaseLogger;
      const res = reply.raw;
      const inflight = deps.lifecycle.inflight;
      const node = inflight?.add(ctx);
      res.on('close', () => {
        if (node) inflight?.delete(node);
        if (!res.writableFinished) ctx.abort.abort(new ClientClosedError());
      });
    }
    // NUL in an id or a filter (admin routes, stored responses) would reach PostgreSQL, which refuses it: 5xx.
    if (!codec && request.url.includes('%00')) {
      return done(new BadRequestError('The request URL contains a NUL character (%00).'));
    }
    // Decided by the matched route, never the raw URL: `/%761/chat/completions` or an absolute-form target
    // reach the same route and must meet the same checks.
    if (url.startsWith('/admin/')) {
      // Org and team admin keys reach only the routes marked for them (everything else is global).
      const access = (route.config as { access?: string } | undefined)?.access;
      authorizeAdmin(deps.adminAuth, request, access).then(() => done(), done);
      return;
    }
    if (!url.startsWith('/v1/')) return done();
    if (deps.lifecycle.shuttingDown) {
      reply.header('connection', 'close');
      return done(new ServiceUnavailableError('The gateway is shutting down; retry on another instance.'));
    }
    // The pipeline endpoints authenticate as their first stage, before the body is parsed or validated;
    // the other API routes (models) here.
    if (codec) return done();
    const header = request.headers['x-user-id'];
    const principal = deps.authenticator.authenticate({
      authorization: authorizationOf(request.headers),
      userIdHeader: typeof header === 'string' ? header : undefined,
      source: request.ip,
    });
    if (principal instanceof Promise) {
      principal.then((p) => {
        request.principal = p;
        done();
      }, done);
    } else {
      request.principal = principal;
      done();
    }
  };
}

async function authorizeAdmin(
  adminAuth: AdminAuth,
  request: FastifyRequest,
  access: string | undefined,
): Promise<void> {
  const actor = await adminAuth.authorize(request);
  if (actor.role !== 'admin' && access !== 'tenant') {
    throw new ForbiddenError('This route needs the global admin key (GATEWAY_ADMIN_KEY).');
  }
  request.adminActor = actor;
}
