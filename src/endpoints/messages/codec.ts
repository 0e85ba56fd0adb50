/**
 * The Anthropic Messages codec (`POST /v1/messages`, DESIGN §16): the Anthropic SDK and Claude Code work
 * against the gateway unchanged. The body is validated against Anthropic's schema (400
 * `invalid_request_error` naming the field, as Anthropic answers), translated to the canonical chat request
 * for every stage and for providers that do not speak the Messages API, and kept as the native request
 * (with `anthropic-version` / `anthropic-beta`) for Anthropic deployments, which receive it as it is.
 *
 * Answers are written as an Anthropic `Message` or Anthropic's event stream: an Anthropic deployment's own
 * (native passthrough), else translated from the canonical answer (to-message.ts, stream.ts). Errors use
 * Anthropic's error body (errors.ts).
 */
import { approximatePromptTokens } from '../../accounting/tokens.js';
import type { CanonicalRequest, NativeRequest } from '../../core/context.js';
import type { EndpointCodec } from '../../core/endpoint.js';
import { BadRequestError, ValidationError } from '../../core/errors.js';
import {
  ANTHROPIC_MESSAGES_API,
  anthropicMessageOf,
  FORWARDED_HEADERS,
} from '../../providers/anthropic/native.js';
import type { ChatCompletion } from '../../providers/types.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { requestTags, TAGS_HEADER } from '../tags.js';
import { AnthropicErrorSchema, anthropicErrorBody, anthropicErrorStatus } from './errors.js';
import { MessagesRequestSchema } from './schema.js';
import { anthropicStreamEncoder } from './stream.js';
import { type MessagesBody, toCanonical } from './to-canonical.js';
import { toMessage } from './to-message.js';

export const MESSAGES_PATH = '/v1/messages';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** The Anthropic API headers of a request, lower-case (the ones forwarded to Anthropic deployments). */
export function apiHeaders(headers: Headers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = headers?.[name];
    const text = Array.isArray(value) ? value.join(',') : value;
    if (text) out[name] = text;
  }
  return out;
}

/** Parses and validates a body with `validate`; Anthropic answers schema errors with 400, so does this. */
export function decodeAnthropicBody<T>(raw: string, validate: (value: unknown) => T): T {
  try {
    return validate(parseJsonBody(raw));
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new BadRequestError(err.message, 'invalid_request', { param: err.param ?? undefined });
    }
    throw err;
  }
}

/** Creates the codec (its schema validator is compiled here, once). */
export function createMessagesCodec(compile: ReturnType<typeof createSchemaCompiler>): EndpointCodec {
  const validate = compile<MessagesBody>(MessagesRequestSchema);
  return {
    name: 'messages',
    path: MESSAGES_PATH,
    summary: 'Create a message (Anthropic Messages API)',
    bodySchema: MessagesRequestSchema,
    decode(raw, headers): CanonicalRequest {
      const body = decodeAnthropicBody(raw, validate);
      const native: NativeRequest = { api: ANTHROPIC_MESSAGES_API, body, headers: apiHeaders(headers) };
      return {
        kind: 'chat',
        model: body.model,
        stream: body.stream === true,
        body: toCanonical(body),
        native,
        // Tags by header only: the body goes to Anthropic as sent, and its metadata takes only user_id.
        tags: requestTags(undefined, headers?.[TAGS_HEADER]),
      };
    },
    encode(result) {
      return anthropicMessageOf(result.body) ?? toMessage(result.body as ChatCompletion);
    },
    stream: {
      open: (request) =>
        anthropicStreamEncoder(request.kind === 'chat' ? approximatePromptTokens(request.body) : 0),
    },
    errorBody: anthropicErrorBody,
    errorStatus: anthropicErrorStatus,
    errorSchema: AnthropicErrorSchema,
  };
}
