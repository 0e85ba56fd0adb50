/**
 * The legacy Completions codec (`POST /v1/completions`, OpenAI's `text_completion`): code that still calls
 * `client.completions.create` works against every provider the gateway routes to. The prompt becomes one
 * user message of a canonical chat request, so every stage (keys, limits, budgets, guardrails, cache,
 * routing, accounting) treats it like any chat request, and Anthropic and Gemini models serve it too
 * (docs/decisions/0179-legacy-completions.md). Answers are written back as `text_completion` objects.
 */
import type { CanonicalRequest } from '../../core/context.js';
import type { EndpointCodec } from '../../core/endpoint.js';
import { ValidationError } from '../../core/errors.js';
import type { ChatCompletion, ChatRequest } from '../../providers/types.js';
import { createChatValidator } from '../chat/codec.js';
import type { createSchemaCompiler } from '../compile.js';
import { parseJsonBody } from '../json.js';
import { requestTags, TAGS_HEADER } from '../tags.js';
import { CompletionRequestSchema } from './schema.js';
import { completionStreamEncoder, toCompletion } from './to-completion.js';

export const COMPLETIONS_PATH = '/v1/completions';

/** OpenAI's default `max_tokens` for Completions (the chat API has none). */
export const DEFAULT_COMPLETION_MAX_TOKENS = 16;

type CompletionBody = {
  model: string;
  prompt: string | string[] | number[] | number[][];
  max_tokens?: number | null;
  logprobs?: number | null;
  echo?: boolean | null;
  suffix?: string | null;
  best_of?: number | null;
  n?: number | null;
  stream?: boolean | null;
} & Record<string, unknown>;

/** Creates the codec (its schema validator is compiled here, once). */
export function createCompletionsCodec(compile: ReturnType<typeof createSchemaCompiler>): EndpointCodec {
  const validate = compile<CompletionBody>(CompletionRequestSchema);
  // The chat fields a client adds (`reasoning_effort`, `service_tier` …) reach the chat path: same checks.
  const validateChat = createChatValidator(compile);
  return {
    name: 'completions',
    path: COMPLETIONS_PATH,
    summary: 'Create a completion (OpenAI legacy Completions, served over chat)',
    bodySchema: CompletionRequestSchema,
    decode(raw, headers): CanonicalRequest {
      const body = validateChat(toChatRequest(validate(parseJsonBody(raw))));
      const tags = requestTags(undefined, headers?.[TAGS_HEADER]);
      return { kind: 'chat', model: body.model, stream: body.stream === true, body, tags };
    },
    encode: (result) => toCompletion(result.body as ChatCompletion),
    stream: {
      open: (request) =>
        completionStreamEncoder(
          request.kind === 'chat' && request.body.stream_options?.include_usage === true,
        ),
    },
  };
}

/** The chat request a Completions body stands for. @throws ValidationError for what chat cannot do. */
export function toChatRequest(body: CompletionBody): ChatRequest {
  const { prompt: _p, echo, suffix, best_of, logprobs, max_tokens, ...rest } = body;
  const prompt = onePrompt(body.prompt);
  if (echo === true) {
    throw new ValidationError(
      'echo is not supported: the gateway serves completions over chat models.',
      'echo',
    );
  }
  if (suffix !== undefined && suffix !== null && suffix !== '') {
    throw new ValidationError(
      'suffix (insertion) is not supported: the gateway serves completions over chat models.',
      'suffix',
    );
  }
  if (best_of !== undefined && best_of !== null && best_of > 1 && best_of !== (body.n ?? 1)) {
    throw new ValidationError(
      'best_of above n is not supported; use n and choose among the choices.',
      'best_of',
    );
  }
  const chat: ChatRequest = {
    ...rest,
    model: body.model,
    messages: [{ role: 'user', content: prompt }],
    max_tokens: max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS,
  };
  if (logprobs !== undefined && logprobs !== null) {
    chat.logprobs = true;
    chat.top_logprobs = logprobs;
  }
  return chat;
}

/** The one text prompt of a body (a string, or an array holding one string). */
function onePrompt(prompt: CompletionBody['prompt']): string {
  if (typeof prompt === 'string') return prompt;
  const first = prompt[0];
  if (typeof first !== 'string') {
    throw new ValidationError('prompt as tokens is not supported: send the prompt as text.', 'prompt');
  }
  if (prompt.length > 1) {
    throw new ValidationError(
      `prompt holds ${prompt.length} prompts; the gateway takes one per request: send one request per prompt.`,
      'prompt',
    );
  }
  if (first === '') throw new ValidationError('prompt must not be empty.', 'prompt');
  return first;
}
