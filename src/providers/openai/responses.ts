/**
 * Native OpenAI Responses API calls (`POST /v1/responses`) for the gateway's Responses endpoint: the client's
 * body goes to OpenAI as it is (only `model` and `stream` set), and the answer comes back in two forms — the
 * canonical one every stage reads (a chat completion or chat chunks: text, tool calls, finish reason, usage)
 * and, attached to it, the upstream's own Response JSON or stream event, which the Responses codec writes
 * unchanged (`nativeResponseOf`, `nativeEventOf`).
 */
import { ProviderUnavailableError } from '../../core/errors.js';
import { type EventTranslator, parseEventJson, streamCutOff } from '../sse.js';
import type { ChatCompletion, ChatCompletionChunk, Usage } from '../types.js';

/** The native API this module speaks (`CanonicalRequest.native.api`). */
export const RESPONSES_API = 'openai-responses' as const;

type Json = Record<string, unknown>;

/** One upstream stream event as received. */
export interface NativeEvent {
  type: string;
  /** The event's data line as sent (single line). */
  data: string;
  parsed: Json;
}

const RESPONSE_OF = new WeakMap<object, Json>();
const EVENT_OF = new WeakMap<object, NativeEvent>();

/** The upstream's Response JSON a completion was made from (native calls only). */
export function nativeResponseOf(completion: object): Json | undefined {
  return RESPONSE_OF.get(completion);
}

/** The upstream's stream event a chunk was made from (native streams only). */
export function nativeEventOf(chunk: object): NativeEvent | undefined {
  return EVENT_OF.get(chunk);
}

/** A Response JSON as the canonical chat completion, with the JSON attached. */
export function completionFromResponse(provider: string, json: unknown): ChatCompletion {
  if (typeof json !== 'object' || json === null || !Array.isArray((json as Json).output)) {
    throw new ProviderUnavailableError(
      `${provider} answered with something that is not a Response.`,
      provider,
    );
  }
  const response = json as Json & { output: Json[] };
  let text = '';
  const toolCalls: Json[] = [];
  for (const item of response.output) {
    if (item.type === 'message' && Array.isArray(item.content)) {
      for (const part of item.content as Json[])
        if (part.type === 'output_text') text += String(part.text ?? '');
    } else if (item.type === 'function_call') {
      toolCalls.push({
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: item.arguments },
      });
    }
  }
  const completion = {
    id: String(response.id ?? ''),
    object: 'chat.completion',
    created: typeof response.created_at === 'number' ? response.created_at : 0,
    model: String(response.model ?? ''),
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(response, toolCalls.length > 0),
        logprobs: null,
      },
    ],
    ...(response.usage ? { usage: chatUsage(response.usage as Json) } : {}),
  } as unknown as ChatCompletion;
  RESPONSE_OF.set(completion, response);
  return completion;
}

function finishReason(response: Json, toolCalls: boolean): string {
  const reason = (response.incomplete_details as Json | null | undefined)?.reason;
  if (response.status === 'incomplete') return reason === 'content_filter' ? 'content_filter' : 'length';
  return toolCalls ? 'tool_calls' : 'stop';
}

function chatUsage(usage: Json): Usage {
  const input = Number(usage.input_tokens ?? 0);
  const output = Number(usage.output_tokens ?? 0);
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: Number(usage.total_tokens ?? input + output),
    prompt_tokens_details: {
      cached_tokens: Number((usage.input_tokens_details as Json | undefined)?.cached_tokens ?? 0),
    },
    completion_tokens_details: {
      reasoning_tokens: Number((usage.output_tokens_details as Json | undefined)?.reasoning_tokens ?? 0),
    },
  };
}

/**
 * A native Responses stream as canonical chunks, one per upstream event (each carrying its event). Ends
 * after `response.completed` / `response.incomplete`; `response.failed` or an `error` event becomes a
 * `ProviderUnavailableError` (the codec writes its own `response.failed`), and so does a cut-off stream.
 */
export class ResponsesEventTranslator implements EventTranslator<ChatCompletionChunk> {
  readonly #provider: string;
  #id = '';
  #model = '';
  #created = 0;
  readonly #calls = new Map<string, number>();

  constructor(provider: string) {
    this.#provider = provider;
  }

  event(message: { event?: string | undefined; data: string }, out: ChatCompletionChunk[]): boolean {
    const provider = this.#provider;
    if (message.data === '[DONE]') throw streamCutOff(provider);
    const parsed = parseEventJson<Json>(provider, message.data);
    const type = typeof parsed.type === 'string' ? parsed.type : (message.event ?? '');
    const response = parsed.response as Json | undefined;
    if (response) {
      this.#id = String(response.id ?? this.#id);
      this.#model = String(response.model ?? this.#model);
      if (typeof response.created_at === 'number') this.#created = response.created_at;
    }
    if (type === 'response.failed' || type === 'error') {
      const error = (response?.error ?? parsed) as Json | null;
      const detail = typeof error?.message === 'string' ? `: ${error.message}` : '.';
      throw new ProviderUnavailableError(`${provider} reported an error mid-stream${detail}`, provider);
    }
    const chunk = {
      id: this.#id,
      object: 'chat.completion.chunk',
      created: this.#created,
      model: this.#model,
      choices: [] as Json[],
    } as Json & { choices: Json[]; usage?: Usage };
    const delta = deltaOf(type, parsed, this.#calls);
    const final = type === 'response.completed' || type === 'response.incomplete';
    if (delta || final) {
      chunk.choices.push({
        index: 0,
        delta: delta ?? {},
        finish_reason: final && response ? finishReason(response, this.#calls.size > 0) : null,
      });
    }
    if (final && response?.usage) chunk.usage = chatUsage(response.usage as Json);
    if (!message.data.includes('\n')) EVENT_OF.set(chunk, { type, data: message.data, parsed });
    else EVENT_OF.set(chunk, { type, data: JSON.stringify(parsed), parsed });
    out.push(chunk as unknown as ChatCompletionChunk);
    return final;
  }

  end(): void {
    throw streamCutOff(this.#provider);
  }
}

function deltaOf(type: string, event: Json, calls: Map<string, number>): Json | null {
  if (type === 'response.output_text.delta' && typeof event.delta === 'string')
    return { content: event.delta };
  const item = event.item as Json | undefined;
  if (type === 'response.output_item.added' && item?.type === 'function_call') {
    const index = calls.size;
    calls.set(String(item.id), index);
    return {
      tool_calls: [
        { index, id: item.call_id, type: 'function', function: { name: item.name, arguments: '' } },
      ],
    };
  }
  if (type === 'response.function_call_arguments.delta') {
    const index = calls.get(String(event.item_id));
    if (index === undefined) return null;
    return { tool_calls: [{ index, function: { arguments: String(event.delta ?? '') } }] };
  }
  return null;
}
