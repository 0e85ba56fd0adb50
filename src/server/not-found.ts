/**
 * What a request for no route gets: 405 with `Allow` when the path exists for other methods (a GET of
 * `/v1/chat/completions`: OpenAI answers 405 too), else 404, in OpenAI's error shape; under the Messages
 * API, Anthropic's 404 `not_found_error`. Nothing here runs for a routed request.
 */
import type { FastifyInstance } from 'fastify';
import type { EndpointCodec } from '../core/endpoint.js';
import { GatewayError, NotFoundError } from '../core/errors.js';
import { toErrorBody } from './error-envelope.js';

type Redact = Parameters<typeof toErrorBody>[1];

/**
 * Sets the not-found handler, and records every route registered after this call (call it before the
 * routes) so a path served for other methods is told apart from one that does not exist.
 */
export function setNotFound(app: FastifyInstance, codecs: readonly EndpointCodec[], redact: Redact): void {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = [];
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter(
      (m) => m !== 'HEAD' && m !== 'OPTIONS',
    );
    if (methods.length > 0) routes.push({ pattern: patternOf(route.url), methods });
  });
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    // Under a codec's own path (`/v1/messages/batches`, a GET of `/v1/messages`): its error shape
    // (Anthropic's for the Messages API, which has no 405: a 404 `not_found_error` there).
    const codec = codecs.find(
      (c) => c.errorBody !== undefined && (path === c.path || path.startsWith(`${c.path}/`)),
    );
    const allowed = new Set<string>();
    if (!codec) for (const r of routes) if (r.pattern.test(path)) for (const m of r.methods) allowed.add(m);
    allowed.delete(request.method);
    const error =
      allowed.size > 0
        ? new GatewayError(
            `Method ${request.method} is not allowed for ${path}; use ${[...allowed].join(' or ')}.`,
            'method_not_allowed',
            405,
            'invalid_request_error',
          )
        : new NotFoundError(`No route for ${request.method} ${path}.`);
    if (allowed.size > 0) reply.header('allow', [...allowed].join(', '));
    const body = toErrorBody(error, redact);
    return reply.code(error.status).send(codec?.errorBody ? codec.errorBody(error, body) : body);
  });
}

/** A route URL (`/v1/responses/:id`, `/console/*`) as a regular expression over request paths. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}
