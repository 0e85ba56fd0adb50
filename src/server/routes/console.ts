/**
 * The web console (DESIGN §18): the built single-page app (`dist/console/`, made by `npm run build`) at
 * `/console` and `/console/` (and its client-side routes, which all get `index.html`), and its session
 * endpoints:
 *
 * - `POST /console/session` `{key}` — signs in with an admin key: sets the HttpOnly, SameSite=Strict
 *   session cookie and answers the actor and the CSRF token;
 * - `GET /console/session` — the current session's actor and CSRF token (401 when signed out);
 * - `DELETE /console/session` — signs out (needs the CSRF token).
 *
 * The console then calls the admin API with its cookie, authorised exactly like an admin key
 * (server/admin-auth.ts). Nothing here is on the request path of the API.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type as T } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthenticationError, GatewayError } from '../../core/errors.js';
import type { AdminActor } from '../../core/feature.js';
import type { AdminAuth } from '../admin-auth.js';
import { type ConsoleSessions, CSRF_HEADER, csrfMatches, sessionCookie } from '../console-sessions.js';

/** Content security policy of the console's page: its own scripts and styles only, no frames. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

const SessionBody = T.Object(
  { key: T.String({ minLength: 1, maxLength: 512, description: 'An admin key' }) },
  { additionalProperties: false },
);
const SessionView = T.Object({
  actor: T.Object({
    role: T.String(),
    key_id: T.Union([T.String(), T.Null()]),
    org_id: T.Union([T.String(), T.Null()]),
    team_id: T.Union([T.String(), T.Null()]),
  }),
  csrf_token: T.String(),
  expires_at: T.String(),
});

export interface ConsoleRouteDeps {
  /** The built app (`dist/console/`); without its index.html the console answers 503 saying to build it. */
  dir: string;
  auth: AdminAuth;
  sessions: ConsoleSessions;
}

function view(actor: AdminActor, csrfToken: string, expiresAt: number) {
  return {
    actor: { role: actor.role, key_id: actor.keyId, org_id: actor.orgId, team_id: actor.teamId },
    csrf_token: csrfToken,
    expires_at: new Date(expiresAt).toISOString(),
  };
}

function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
}

export async function registerConsoleRoutes(app: FastifyInstance, deps: ConsoleRouteDeps): Promise<void> {
  const secure = (request: FastifyRequest) => request.protocol === 'https';
  const schema = (summary: string, extra: Record<string, unknown> = {}) => ({
    tags: ['Console'],
    summary,
    security: [],
    ...extra,
  });

  app.post(
    '/console/session',
    { schema: schema('Sign in to the console with an admin key', { body: SessionBody }) },
    async (request, reply) => {
      const { key } = request.body as typeof SessionBody.static;
      const actor = await deps.auth.actorForKey(key, request.ip);
      const { id, session } = await deps.sessions.create(actor, key);
      noStore(reply);
      reply.header('set-cookie', sessionCookie(id, Math.floor(deps.sessions.ttlMs / 1000), secure(request)));
      return reply.code(201).send(view(actor, session.csrfToken, session.expiresAt));
    },
  );
  app.get(
    '/console/session',
    { schema: schema('The console session (actor and CSRF token)', { response: { 200: SessionView } }) },
    async (request, reply) => {
      const found = await deps.auth.session(request);
      if (!found) throw new AuthenticationError('Not signed in to the console.');
      noStore(reply);
      return view(found.session.actor, found.session.csrfToken, found.session.expiresAt);
    },
  );
  app.delete('/console/session', { schema: schema('Sign out of the console') }, async (request, reply) => {
    const found = await deps.auth.session(request);
    if (found) {
      const token = request.headers[CSRF_HEADER];
      if (!csrfMatches(found.session, typeof token === 'string' ? token : undefined)) {
        throw new GatewayError(
          'Signing out needs the session’s X-CSRF-Token header.',
          'csrf_token_invalid',
          403,
          'permission_error',
        );
      }
      await deps.sessions.delete(found.id);
    }
    noStore(reply);
    reply.header('set-cookie', sessionCookie('', 0, secure(request)));
    return reply.code(204).send();
  });

  const index = join(deps.dir, 'index.html');
  if (!existsSync(index)) {
    const notBuilt = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The console is not built: run `npm run build` (or `npm start`, which builds it).\n');
    app.get('/console', { schema: { hide: true } }, notBuilt);
    app.get('/console/*', { schema: { hide: true } }, notBuilt);
    return;
  }
  await app.register(fastifyStatic, {
    root: deps.dir,
    prefix: '/console/',
    // Each built file gets its own route; every other /console path is the app's (index.html).
    wildcard: false,
    index: false,
    schemaHide: true,
    // Cache-Control is set per file below (send's own default would override it).
    cacheControl: false,
    setHeaders(res, path) {
      // Asset names carry a content hash: cache them for good. The page itself is always revalidated.
      const hashed = path.includes(join(deps.dir, 'assets'));
      res.setHeader('cache-control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    // A missing asset is a 404, not the page (a stale tab asking for an old bundle must not get HTML).
    if (request.url.startsWith('/console/assets/')) {
      return reply.code(404).type('text/plain; charset=utf-8').send('No such console asset.\n');
    }
    return reply
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'same-origin')
      .sendFile('index.html', deps.dir);
  };
  app.get('/console', { schema: { hide: true } }, page);
  app.get('/console/', { schema: { hide: true } }, page);
  app.get('/console/*', { schema: { hide: true } }, page);
}
