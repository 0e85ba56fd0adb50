/**
 * Mounts the features' admin route table (DESIGN §2: features contribute routes without importing
 * Fastify). Every route is under `/admin/`, where the app's `onRequest` hook requires the admin key; inputs
 * are validated by Fastify against the route's schemas (a violation is a 422 naming the field).
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { GatewayError, ServiceUnavailableError } from '../core/errors.js';
import { type AdminRoute, GLOBAL_ADMIN, isAdminReply } from '../core/feature.js';
import { adminRouteDoc } from './openapi/operations.js';

/** SQLSTATE classes and socket errors that mean the database is unreachable, not that the query is wrong. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57)[0-9A-Z]{3}$/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);
const UNAVAILABLE_MESSAGE = /connection|connect|terminated|timeout|did not answer|no answer within/i;

/**
 * An error a route's handler threw that is not the gateway's own (a 4xx or a 503 it chose): logged under the
 * request's id, and a 503 when it says the database is unreachable or hung (the admin routes read the
 * database; it being down is not a gateway bug, decision 0217). Anything else stays a 500, now logged.
 */
export function unexpected(err: unknown, route: string, log: FastifyBaseLogger): unknown {
  if (err instanceof GatewayError || typeof (err as { statusCode?: unknown })?.statusCode === 'number')
    return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const unavailable =
    typeof code === 'string'
      ? UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code)
      : UNAVAILABLE_MESSAGE.test(message);
  // Also the app's error handler for routes outside the pipeline (console sessions, stored responses).
  const kind = route.startsWith('/admin') ? 'admin' : 'request';
  log.error(
    { event: `${kind}.error`, route, dependency: unavailable ? 'database' : undefined, error: message },
    unavailable ? `${kind} route: the database is unavailable` : `${kind} route failed`,
  );
  return unavailable ? new ServiceUnavailableError('The database is unavailable; retry shortly.') : err;
}

export function mountAdminRoutes(app: FastifyInstance, routes: readonly AdminRoute[]): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      // Read by the admin guard (app.ts): org and team admin keys reach only `tenant` routes. `openapi`: what
      // /openapi.json says it answers (documentation only, openapi/operations.ts).
      config: { access: route.access ?? 'global', openapi: adminRouteDoc(route.responses) } as object,
      schema: {
        tags: ['Admin'],
        summary: route.summary,
        ...(route.params ? { params: route.params } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.body ? { body: route.body } : {}),
      },
      ...(route.emptyBodyIsObject
        ? {
            preValidation: async (request) => {
              request.body ??= {};
            },
          }
        : {}),
      handler: async (request, reply) => {
        const value = await route
          .handler({
            params: (request.params ?? {}) as Record<string, string>,
            query: (request.query ?? {}) as Record<string, unknown>,
            body: request.body,
            id: request.id,
            ip: request.ip,
            // Set by the app's onRequest hook (admin key or console session: server/admin-auth.ts).
            actor: request.adminActor ?? GLOBAL_ADMIN,
          })
          .catch((err: unknown) => {
            throw unexpected(err, route.url, request.log);
          });
        if (isAdminReply(value)) {
          if (value.headers) reply.headers(value.headers);
          return reply.code(value.status).send(value.body);
        }
        return value;
      },
    });
  }
}
