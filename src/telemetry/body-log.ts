/**
 * Prompt and completion text in the `request.end` log line, only when `LOG_BODIES=true` (DESIGN §9: off by
 * default, they may hold personal data). Each text is scrubbed of configured secrets and of key-shaped
 * strings, then cut to `maxChars`. The completion is the outcome's text (the answer's content).
 */
import type { RequestContext } from '../core/context.js';
import { GUARDRAIL_FINDINGS } from '../guardrails/findings.js';
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
  const body = ctx.request?.body as { messages?: unknown; input?: unknown } | undefined;
  // A request a guardrail refused still holds the client's raw values (the guard threw before masking):
  // its prompt is not logged.
  const refused = GUARDRAIL_FINDINGS.get(ctx)?.some((f) => f.direction === 'input' && f.action === 'block');
  if (body && !refused) {
    const prompt = body.messages ?? body.input;
    if (prompt !== undefined) fields.prompt = logText(JSON.stringify(prompt), options);
  }
  const text = ctx.outcome?.output.text;
  if (text) fields.completion = logText(text.slice(0, options.maxChars + 1), options);
  return fields;
}
