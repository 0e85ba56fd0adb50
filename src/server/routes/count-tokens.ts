/**
 * `POST /v1/messages/count_tokens`: a JSON API route outside the pipeline (nothing is generated or billed).
 * The app's `onRequest` hook authenticates it like every `/v1/` route; the handler (the messages codec's
 * count_tokens, framework-free) re-reads the principal for the model check. Errors use the codec's error
 * body, also for the 401 the hook raises.
 */
import type { FastifyInstance } from 'fastify';
import type { GatewayError } from '../../core/errors.js';
import type { CountTokensRequest, TokenCount } from '../../endpoints/messages/count-tokens.js';
import type { Redactor } from '../../telemetry/logger.js';
import { normalizeError, retryHeaders, toErrorBody } from '../error-envelope.js';
import { useJsonText } from '../json-body.js';

export interface CountTokensRouteDeps {
  path: string;
  handle(req: CountTokensRequest): Promise<TokenCount>;
  errorBody(error: GatewayError, openai: unknown): unknown;
  errorStatus(error: GatewayError): number;
  redact: Redactor;
  bodyLimitBytes: number;
}

/** Registers the route in its own scope (raw JSON text body, its own error body). */
export async function registerCountTokensRoute(
  app: FastifyInstance,
  deps: CountTokensRouteDeps,
): Promise<void> {
  await app.register(async (scope) => {
    // JSON in UTF-8 only, as /v1/messages (a 415 before the body is read): the body is parsed by the handler.
    useJsonText(scope);
    scope.setErrorHandler(async (err, request, reply) => {
      const error = normalizeError(err, deps.bodyLimitBytes, request.headers['content-type']);
      const retry = error.status === 429 ? retryHeaders(error) : null;
      if (retry) reply.headers(retry);
      const body = deps.errorBody(error, toErrorBody(error, deps.redact));
      return reply.code(deps.errorStatus(error)).type('application/json').send(body);
    });
    scope.post(
      deps.path,
      {
        schema: {
          summary: 'Count the input tokens of a message (Messages API)',
          tags: ['Messages'],
        },
      },
      async (request, reply) => {
        const abort = new AbortController();
        // The response closing before it was written = the client went away (the request's own 'close'
        // fires as soon as its body was read).
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abort.abort();
        });
        const count = await deps.handle({
          raw: typeof request.body === 'string' ? request.body : '',
          headers: request.headers,
          requestId: request.id,
          signal: abort.signal,
        });
        reply.header('x-token-count-source', count.source);
        return { input_tokens: count.input_tokens };
      },
    );
  });
}
