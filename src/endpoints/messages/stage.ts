/**
 * The Messages stage (after `resolve`, for `/v1/messages` only): refuses what only an Anthropic deployment
 * can read when the route has another deployment, with a 400 naming the field. Today that is a Files API
 * source (`source: {type: 'file', file_id}`) on an image or document block, anywhere in the messages
 * (tool results included): the file lives at Anthropic, and the canonical form has nothing to carry it.
 * Like the Responses stage's native-only items, every deployment of the route must be able to serve it, so
 * a fallback never turns into a different answer.
 */
import type { RequestContext } from '../../core/context.js';
import { BadRequestError } from '../../core/errors.js';
import type { Stage } from '../../core/stage.js';
import { ANTHROPIC_MESSAGES_API } from '../../providers/anthropic/native.js';

/** Creates the stage. */
export function messagesStage(): Stage {
  return {
    name: 'messages',
    run(ctx, next) {
      if (ctx.endpoint === 'messages') refuseNativeOnly(ctx);
      return next(ctx);
    },
  };
}

function refuseNativeOnly(ctx: RequestContext): void {
  const request = ctx.request;
  if (request?.kind !== 'chat' || request.native?.api !== ANTHROPIC_MESSAGES_API) return;
  const other = ctx.route?.deployments.find((d) => !d.adapter.nativeApis?.includes(ANTHROPIC_MESSAGES_API));
  if (!other) return;
  const param = fileSourceParam(request.native.body);
  if (param === undefined) return;
  throw new BadRequestError(
    `${param} is a Files API file (file_id), which only an Anthropic deployment can read; model '${request.model}' routes to ${other.provider}. Send the content as base64 or a URL, or use a model served by Anthropic.`,
    'unsupported_parameter',
    { param },
  );
}

type Block = { type?: unknown; source?: { type?: unknown }; content?: unknown };

/** The path of the first block with a `file` source (`messages[0].content[1].source`), if any. */
export function fileSourceParam(body: unknown): string | undefined {
  const messages = (body as { messages?: unknown }).messages;
  if (!Array.isArray(messages)) return undefined;
  for (const [i, message] of messages.entries()) {
    const found = inBlocks((message as { content?: unknown }).content, `messages[${i}].content`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function inBlocks(content: unknown, at: string): string | undefined {
  if (!Array.isArray(content)) return undefined;
  for (const [j, block] of (content as Block[]).entries()) {
    if (block?.source?.type === 'file') return `${at}[${j}].source`;
    // Tool results and `content` document sources hold blocks of their own.
    const nested = inBlocks(block?.content, `${at}[${j}].content`);
    if (nested !== undefined) return nested;
    const inner = (block?.source as { content?: unknown } | undefined)?.content;
    const inSource = inBlocks(inner, `${at}[${j}].source.content`);
    if (inSource !== undefined) return inSource;
  }
  return undefined;
}
