/**
 * Mounts the features' admin route table (DESIGN §2: features contribute routes without importing
 * Fastify). Every route is under `/admin/`, where the app's `onRequest` hook requires the admin key; inputs
 * are validated by Fastify against the route's schemas (a violation is a 422 naming the field).
 */
import type { FastifyInstance } from 'fastify';
import { type AdminRoute, GLOBAL_ADMIN, isAdminReply } from '../core/feature.js';

export function mountAdminRoutes(app: FastifyInstance, routes: readonly AdminRoute[]): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      // Read by the admin guard (app.ts): org and team admin keys reach only `tenant` routes.
      config: { access: route.access ?? 'global' } as object,
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
        const value = await route.handler({
          params: (request.params ?? {}) as Record<string, string>,
          query: (request.query ?? {}) as Record<string, unknown>,
          body: request.body,
          id: request.id,
          ip: request.ip,
          // Set by the app's onRequest hook (admin key or console session: server/admin-auth.ts).
          actor: request.adminActor ?? GLOBAL_ADMIN,
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
