/**
 * Prompt and completion text in the `request.end` log line, only when `LOG_BODIES=true` (DESIGN §9: off by
 * default, they may hold personal data). Each text is scrubbed of configured secrets and of key-shaped
 * strings, then cut to `maxChars`. When off, nothing here runs: the pipeline is not wrapped at all.
 */
import type { ChatPipeline } from '../pipeline/chat.js';
import type { RequestContext } from '../pipeline/context.js';
import type { ChatCompletionChunk } from '../providers/types.js';
import type { Redactor } from './logger.js';

export interface BodyLogOptions {
  maxChars: number;
  redact: Redactor;
}

/** Key-shaped strings scrubbed even when they are not configured secrets. */
const KEY_PATTERNS = [
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  /\bsk-ant-[A-Za-z0-9_-]{16,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

interface CapturedBodies {
  completion: string;
}

/** Scrubs and caps one text for the log. */
export function logText(text: string, options: BodyLogOptions): string {
  let out = options.redact(text);
  for (const pattern of KEY_PATTERNS) out = out.replace(pattern, '[redacted]');
  if (out.length <= options.maxChars) return out;
  return `${out.slice(0, options.maxChars)}…[${out.length - options.maxChars} more chars]`;
}

/** The `prompt` and `completion` log fields of a request (call only when body logging is on). */
export function bodyFields(
  ctx: RequestContext,
  options: BodyLogOptions,
): { prompt?: string; completion?: string } {
  const fields: { prompt?: string; completion?: string } = {};
  const body = ctx.body as { messages?: unknown; input?: unknown } | null;
  if (body) {
    const prompt = body.messages ?? body.input;
    if (prompt !== undefined) fields.prompt = logText(JSON.stringify(prompt), options);
  }
  const captured = ctx.hookState.bodyLog as CapturedBodies | undefined;
  if (captured && captured.completion !== '') fields.completion = logText(captured.completion, options);
  return fields;
}

/**
 * Wraps the pipeline to keep the completion text for the log: the whole message of a non-stream answer,
 * the content deltas of a stream (at most `maxChars` + 1 kept, so a long stream costs no more memory).
 */
export function captureCompletions(inner: ChatPipeline, maxChars: number): ChatPipeline {
  const limit = maxChars + 1;
  return {
    async complete(ctx, req) {
      const value = await inner.complete(ctx, req);
      const text = value.choices
        .map((c) => {
          const message = c.message as { content?: unknown; tool_calls?: unknown } | undefined;
          return typeof message?.content === 'string'
            ? message.content
            : JSON.stringify(message?.tool_calls ?? '');
        })
        .join('\n');
      ctx.hookState.bodyLog = { completion: text.slice(0, limit) } satisfies CapturedBodies;
      return value;
    },
    embed: (ctx, req) => inner.embed(ctx, req),
    async openStream(ctx, req) {
      const opened = await inner.openStream(ctx, req);
      const captured: CapturedBodies = { completion: '' };
      ctx.hookState.bodyLog = captured;
      const keep = (chunk: ChatCompletionChunk) => {
        if (captured.completion.length >= limit) return;
        const delta = chunk.choices[0]?.delta as { content?: string | null } | undefined;
        if (delta?.content) captured.completion = (captured.completion + delta.content).slice(0, limit);
      };
      for (const chunk of opened.head) keep(chunk);
      const rest = opened.rest;
      return {
        head: opened.head,
        close: opened.close,
        rest: {
          async next() {
            const next = await rest.next();
            if (!next.done) keep(next.value);
            return next;
          },
          return: rest.return
            ? (value?: unknown) => (rest.return as NonNullable<typeof rest.return>)(value)
            : undefined,
        },
      };
    },
  };
}
