/**
 * OpenAI's Completions-only models (`gpt-3.5-turbo-instruct`, `davinci-002`, `babbage-002`): OpenAI serves
 * them on `/v1/completions` alone and answers its chat API with 404 "not a chat model". A one-turn chat
 * request for them (which is what `POST /v1/completions` becomes, decision 0179) is sent to `/completions`
 * as a prompt, and the `text_completion` answer, whole or streamed, comes back as the chat completion the
 * pipeline works with (decision 0208). Anything else goes to the chat API as sent.
 */
import { ProviderUnavailableError } from '../../core/errors.js';
import { type EventTranslator, parseEventJson, streamCutOff } from '../sse.js';
import type { ChatCompletion, ChatCompletionChunk, ChatRequest } from '../types.js';

/** The models OpenAI serves only on its Completions API. */
const COMPLETIONS_ONLY_MODEL = /^(gpt-3\.5-turbo-instruct|davinci-002|babbage-002)/i;

type LegacyLogprobs = {
  tokens?: string[];
  token_logprobs?: Array<number | null>;
  top_logprobs?: Array<Record<string, number> | null> | null;
} | null;
type FinishReason = ChatCompletion.Choice['finish_reason'];
interface LegacyChoice {
  text?: unknown;
  index?: unknown;
  logprobs?: LegacyLogprobs;
  finish_reason?: FinishReason | null;
}
interface LegacyCompletion {
  id?: unknown;
  created?: unknown;
  model?: unknown;
  choices?: unknown;
  usage?: ChatCompletion['usage'];
  error?: { message?: unknown };
}

/**
 * The Completions body a chat request stands for, or null when it goes to the chat API: the model is not
 * Completions-only, or the request is not one user message of text (a conversation has no prompt form).
 */
export function legacyCompletionBody(req: ChatRequest, model: string, stream: boolean): object | null {
  if (!COMPLETIONS_ONLY_MODEL.test(model)) return null;
  const messages = req.messages as unknown as Array<{ role?: unknown; content?: unknown }>;
  const only = messages.length === 1 ? messages[0] : undefined;
  if (only?.role !== 'user' || typeof only.content !== 'string') return null;
  const {
    messages: _messages,
    logprobs,
    top_logprobs,
    max_completion_tokens,
    stream_options: _options,
    ...rest
  } = req;
  const body: Record<string, unknown> = { ...rest, model, prompt: only.content, stream };
  if (typeof max_completion_tokens === 'number' && typeof req.max_tokens !== 'number') {
    body.max_tokens = max_completion_tokens;
  }
  // Chat asks with `logprobs: true, top_logprobs: k`; Completions with `logprobs: k`.
  if (logprobs === true) body.logprobs = typeof top_logprobs === 'number' ? top_logprobs : 0;
  if (stream) body.stream_options = { include_usage: true };
  return body;
}

/** A `text_completion` answer as a chat completion. @throws ProviderUnavailableError when it is not one. */
export function chatFromLegacy(provider: string, json: unknown): ChatCompletion {
  const answer = json as LegacyCompletion | null;
  if (typeof answer !== 'object' || answer === null || !isChoiceList(answer.choices)) {
    throw new ProviderUnavailableError(
      `${provider} answered with something that is not a text completion.`,
      provider,
    );
  }
  return {
    id: typeof answer.id === 'string' ? answer.id : '',
    object: 'chat.completion',
    created: typeof answer.created === 'number' ? answer.created : 0,
    model: typeof answer.model === 'string' ? answer.model : '',
    choices: answer.choices.map((c, i) => ({
      index: typeof c.index === 'number' ? c.index : i,
      message: { role: 'assistant', content: typeof c.text === 'string' ? c.text : '', refusal: null },
      logprobs: chatLogprobs(c.logprobs),
      finish_reason: c.finish_reason ?? 'stop',
    })),
    ...(answer.usage ? { usage: answer.usage } : {}),
  };
}

/** The stream's `text_completion` events as chat completion chunks (the first of each choice with its role). */
export function legacyChunks(provider: string): EventTranslator<ChatCompletionChunk> {
  const started = new Set<number>();
  // As for chat streams (decision 0207): without `[DONE]`, complete once every started choice finished.
  const finished = new Set<number>();
  return {
    event(event, out) {
      if (event.data === '[DONE]') return true;
      const chunk = parseEventJson<LegacyCompletion | null>(provider, event.data);
      if (typeof chunk !== 'object' || chunk === null) throw notAChunk(provider);
      if (chunk.error !== undefined || event.event === 'error') {
        const message = typeof chunk.error?.message === 'string' ? `: ${chunk.error.message}` : '.';
        throw new ProviderUnavailableError(`${provider} reported an error mid-stream${message}`, provider);
      }
      if (!isChoiceList(chunk.choices)) throw notAChunk(provider);
      out.push({
        id: typeof chunk.id === 'string' ? chunk.id : '',
        object: 'chat.completion.chunk',
        created: typeof chunk.created === 'number' ? chunk.created : 0,
        model: typeof chunk.model === 'string' ? chunk.model : '',
        choices: chunk.choices.map((c, i) => {
          const index = typeof c.index === 'number' ? c.index : i;
          const first = !started.has(index);
          if (first) started.add(index);
          if (c.finish_reason) finished.add(index);
          const content = typeof c.text === 'string' ? c.text : '';
          return {
            index,
            delta: first ? { role: 'assistant' as const, content } : { content },
            logprobs: chatLogprobs(c.logprobs),
            finish_reason: c.finish_reason ?? null,
          };
        }),
        ...(chunk.usage ? { usage: chunk.usage } : {}),
      });
      return false;
    },
    end() {
      if (finished.size === 0 || finished.size < started.size) throw streamCutOff(provider);
    },
  };
}

/** The legacy arrays as chat log probabilities (what the Completions codec turns back into the arrays). */
function chatLogprobs(legacy: LegacyLogprobs | undefined): ChatCompletion.Choice['logprobs'] {
  const tokens = legacy?.tokens;
  if (!Array.isArray(tokens)) return null;
  return {
    content: tokens.map((token, i) => ({
      token,
      logprob: legacy?.token_logprobs?.[i] ?? 0,
      bytes: null,
      top_logprobs: Object.entries(legacy?.top_logprobs?.[i] ?? {}).map(([alt, logprob]) => ({
        token: alt,
        logprob,
        bytes: null,
      })),
    })),
    refusal: null,
  };
}

function isChoiceList(value: unknown): value is LegacyChoice[] {
  return Array.isArray(value) && value.every((c) => typeof c === 'object' && c !== null);
}

function notAChunk(provider: string): ProviderUnavailableError {
  return new ProviderUnavailableError(
    `${provider} sent a stream event that is not a text completion chunk.`,
    provider,
  );
}
