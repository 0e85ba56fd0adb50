/**
 * POST /v1/chat/completions: parse (schema) → auth (preHandler) → validate → resolve → pipeline →
 * serialise. Knows nothing about providers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { asGatewayError } from '../../errors.js';
import type { ChatPipeline } from '../../pipeline/chat.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { HookRunner } from '../../pipeline/hooks.js';
import { validateChatRequest } from '../../pipeline/validate.js';
import type { ChatRequest } from '../../providers/types.js';
import type { ModelResolver } from '../../routing/resolver.js';
import type { Redactor } from '../../telemetry/logger.js';
import { finishRequest } from '../request-log.js';
import { ChatRequestSchema } from '../schemas/chat.js';
import { ErrorResponseSchema } from '../schemas/common.js';
import { writeStream } from '../sse-writer.js';
import { routingHeaders, serverTiming } from '../timing.js';
import { admit, resolveModel, sendWithRouting } from './resolve.js';

export interface ChatRouteDeps {
  resolver: ModelResolver;
  pipeline: ChatPipeline;
  redact: Redactor;
  streamIdleTimeoutMs: number;
  hooks: HookRunner;
}

export function registerChatRoutes(app: FastifyInstance, deps: ChatRouteDeps): void {
  app.post(
    '/v1/chat/completions',
    {
      schema: {
        summary: 'Create a chat completion (OpenAI-compatible)',
        tags: ['OpenAI-compatible'],
        body: ChatRequestSchema,
        response: { '4xx': ErrorResponseSchema, '5xx': ErrorResponseSchema },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const ctx = request.ctx;
      const req = request.body as ChatRequest;
      ctx.stream = req.stream === true;
      ctx.kind = 'chat';
      ctx.body = req;
      ctx.requestHeaders = request.headers;
      validateChatRequest(req);
      resolveModel(ctx, req.model, deps.resolver);
      await admit(ctx, deps.hooks);
      if (!ctx.stream) {
        return sendWithRouting(reply, ctx, await deps.pipeline.complete(ctx, req), deps.hooks);
      }
      return stream(ctx, req, reply);
    },
  );

  async function stream(ctx: RequestContext, req: ChatRequest, reply: FastifyReply): Promise<void> {
    const opened = await deps.pipeline.openStream(ctx, req);
    // From here on the gateway writes the response itself: nothing is retried after the first byte.
    reply.hijack();
    const res = reply.raw;
    try {
      deps.hooks.respond(ctx);
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        ...ctx.responseHeaders,
        ...routingHeaders(ctx),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'server-timing': serverTiming(ctx, performance.now()),
      });
    } catch (err) {
      // Nothing can be sent any more; never leave the client or the upstream hanging.
      opened.close(false);
      res.destroy();
      finishRequest(
        ctx,
        deps.hooks,
        { status: 500, error: asGatewayError(err), complete: false },
        deps.redact,
      );
      return;
    }
    const outcome = await writeStream(res, ctx, opened, {
      includeUsage: req.stream_options?.include_usage === true,
      idleTimeoutMs: deps.streamIdleTimeoutMs,
      redact: deps.redact,
      beforeDone: () => deps.hooks.streamEnd(ctx),
    });
    const status = outcome.complete ? 200 : (outcome.error?.status ?? 500);
    finishRequest(ctx, deps.hooks, { status, error: outcome.error, complete: outcome.complete }, deps.redact);
  }
}
