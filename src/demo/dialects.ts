/**
 * The wire formats the demo's simulated upstream speaks, one per API shape the default catalogue's
 * providers use: Chat Completions (`…/chat/completions`, every OpenAI-compatible provider), the Responses
 * API (`…/responses`, OpenAI's native Responses calls), the Messages API (`/v1/messages`, Anthropic) and
 * generateContent (`…/models/{model}:generateContent` / `:streamGenerateContent`, Gemini). Chosen by path,
 * so no provider is named here: the catalogue's base URLs decide which shape each provider gets.
 */
import type { SimulatedAnswer } from './answer.js';

type Json = Record<string, unknown>;

export interface ParsedCall {
  model: string;
  stream: boolean;
  /** The last user text (quoted in the answer). */
  prompt: string;
  /** Size of the whole input, for the prompt token count. */
  promptChars: number;
  maxTokens?: number;
}

export interface StreamFrames {
  head: string[];
  piece(text: string): string;
  tail: string[];
}

export interface SimDialect {
  readonly name: string;
  matches(path: string): boolean;
  /** @throws Error with a message for the 400 answer. */
  parse(body: Json, path: string): ParsedCall;
  json(answer: SimulatedAnswer): unknown;
  stream(answer: SimulatedAnswer): StreamFrames;
  error(status: number, message: string): unknown;
}

const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const named = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function text(content: unknown, partType: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p: Json) => (p?.type === partType && typeof p.text === 'string' ? p.text : ''))
    .join('');
}

function lastUser(messages: unknown, partType: string): string {
  if (!Array.isArray(messages)) return '';
  const user = (messages as Json[]).filter((m) => m?.role === 'user').at(-1);
  return text(user?.content, partType);
}

function requireModel(body: Json): string {
  if (typeof body.model !== 'string' || body.model === '') throw new Error('model is required');
  return body.model;
}

const chat: SimDialect = {
  name: 'chat-completions',
  matches: (path) => path.endsWith('/chat/completions'),
  parse(body) {
    if (!Array.isArray(body.messages)) throw new Error('messages must be an array');
    const max = body.max_completion_tokens ?? body.max_tokens;
    return {
      model: requireModel(body),
      stream: body.stream === true,
      prompt: lastUser(body.messages, 'text'),
      promptChars: JSON.stringify(body.messages).length,
      ...(typeof max === 'number' ? { maxTokens: max } : {}),
    };
  },
  json(a) {
    return {
      id: `chatcmpl-${a.id}`,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: a.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: a.text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: chatUsage(a),
    };
  },
  stream(a) {
    const chunk = (delta: unknown, finish: string | null) => ({
      id: `chatcmpl-${a.id}`,
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: a.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
    return {
      head: [sse(chunk({ role: 'assistant', content: '' }, null))],
      piece: (t) => sse(chunk({ content: t }, null)),
      tail: [
        sse(chunk({}, 'stop')),
        sse({ ...chunk({}, null), choices: [], usage: chatUsage(a) }),
        'data: [DONE]\n\n',
      ],
    };
  },
  error: (status, message) => ({
    error: {
      message,
      type: status >= 500 ? 'server_error' : 'invalid_request_error',
      param: null,
      code: null,
    },
  }),
};

function chatUsage(a: SimulatedAnswer) {
  return {
    prompt_tokens: a.promptTokens,
    completion_tokens: a.completionTokens,
    total_tokens: a.promptTokens + a.completionTokens,
  };
}

const responses: SimDialect = {
  name: 'responses',
  matches: (path) => path.endsWith('/responses'),
  parse(body) {
    const input = body.input;
    if (typeof input !== 'string' && !Array.isArray(input)) throw new Error('input is required');
    return {
      model: requireModel(body),
      stream: body.stream === true,
      prompt: typeof input === 'string' ? input : lastUser(input, 'input_text'),
      promptChars: JSON.stringify(input).length,
      ...(typeof body.max_output_tokens === 'number' ? { maxTokens: body.max_output_tokens } : {}),
    };
  },
  json: (a) => responseObject(a, 'completed'),
  stream(a) {
    let seq = 0;
    const frame = (data: Json) => named(String(data.type), { ...data, sequence_number: seq++ });
    const item = `msg_${a.id}`;
    const start = { ...responseObject(a, 'in_progress'), output: [], usage: null };
    const part = { type: 'output_text', text: '', annotations: [] };
    const at = { item_id: item, output_index: 0, content_index: 0 };
    return {
      head: [
        frame({ type: 'response.created', response: start }),
        frame({ type: 'response.in_progress', response: start }),
        frame({
          type: 'response.output_item.added',
          output_index: 0,
          item: { id: item, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
        }),
        frame({ type: 'response.content_part.added', ...at, part }),
      ],
      piece: (t) => frame({ type: 'response.output_text.delta', ...at, delta: t }),
      tail: [
        frame({ type: 'response.output_text.done', ...at, text: a.text }),
        frame({ type: 'response.content_part.done', ...at, part: { ...part, text: a.text } }),
        frame({ type: 'response.output_item.done', output_index: 0, item: messageItem(a) }),
        frame({ type: 'response.completed', response: responseObject(a, 'completed') }),
      ],
    };
  },
  error: chat.error,
};

function messageItem(a: SimulatedAnswer): Json {
  return {
    id: `msg_${a.id}`,
    type: 'message',
    status: 'completed',
    role: 'assistant',
    content: [{ type: 'output_text', text: a.text, annotations: [] }],
  };
}

function responseObject(a: SimulatedAnswer, status: string): Json {
  return {
    id: `resp_${a.id}`,
    object: 'response',
    created_at: 1_700_000_000,
    status,
    error: null,
    incomplete_details: null,
    model: a.model,
    output: [messageItem(a)],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    text: { format: { type: 'text' } },
    usage: {
      input_tokens: a.promptTokens,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: a.completionTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: a.promptTokens + a.completionTokens,
    },
  };
}

const messages: SimDialect = {
  name: 'messages',
  matches: (path) => path.endsWith('/v1/messages'),
  parse(body) {
    if (!Array.isArray(body.messages)) throw new Error('messages must be an array');
    if (typeof body.max_tokens !== 'number') throw new Error('max_tokens: Field required');
    return {
      model: requireModel(body),
      stream: body.stream === true,
      prompt: lastUser(body.messages, 'text'),
      promptChars: JSON.stringify(body.messages).length + JSON.stringify(body.system ?? '').length,
      maxTokens: body.max_tokens,
    };
  },
  json: (a) => ({
    id: `msg_${a.id}`,
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: [{ type: 'text', text: a.text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: a.promptTokens, output_tokens: a.completionTokens },
  }),
  stream(a) {
    const block = { type: 'content_block_delta', index: 0 };
    return {
      head: [
        named('message_start', {
          type: 'message_start',
          message: {
            id: `msg_${a.id}`,
            type: 'message',
            role: 'assistant',
            model: a.model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { input_tokens: a.promptTokens, output_tokens: 1 },
          },
        }),
        named('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'text', text: '' },
        }),
        named('ping', { type: 'ping' }),
      ],
      piece: (t) => named('content_block_delta', { ...block, delta: { type: 'text_delta', text: t } }),
      tail: [
        named('content_block_stop', { type: 'content_block_stop', index: 0 }),
        named('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { output_tokens: a.completionTokens },
        }),
        named('message_stop', { type: 'message_stop' }),
      ],
    };
  },
  error: (status, message) => ({
    type: 'error',
    error: { type: status >= 500 ? 'api_error' : 'invalid_request_error', message },
  }),
};

const GENERATE = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

const generate: SimDialect = {
  name: 'generate-content',
  matches: (path) => GENERATE.test(path),
  parse(body, path) {
    const match = GENERATE.exec(path);
    if (!Array.isArray(body.contents)) throw new Error('contents must be an array');
    const users = (body.contents as Json[]).filter((c) => c?.role === undefined || c.role === 'user');
    const parts = users.at(-1)?.parts;
    const prompt = Array.isArray(parts)
      ? parts.map((p: Json) => (typeof p.text === 'string' ? p.text : '')).join('')
      : '';
    const config = body.generationConfig as Json | undefined;
    return {
      model: decodeURIComponent(match?.[1] ?? ''),
      stream: match?.[2] === 'streamGenerateContent',
      prompt,
      promptChars: JSON.stringify(body.contents).length,
      ...(typeof config?.maxOutputTokens === 'number' ? { maxTokens: config.maxOutputTokens } : {}),
    };
  },
  json: (a) => ({
    candidates: [{ content: { role: 'model', parts: [{ text: a.text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata: generateUsage(a),
    modelVersion: a.model,
    responseId: a.id,
  }),
  stream(a) {
    const event = (t: string, final: boolean) =>
      sse({
        candidates: [
          {
            content: { role: 'model', parts: t ? [{ text: t }] : [] },
            index: 0,
            ...(final ? { finishReason: 'STOP' } : {}),
          },
        ],
        ...(final ? { usageMetadata: generateUsage(a) } : {}),
        modelVersion: a.model,
        responseId: a.id,
      });
    return { head: [], piece: (t) => event(t, false), tail: [event('', true)] };
  },
  error: (status, message) => ({
    error: { code: status, message, status: status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT' },
  }),
};

function generateUsage(a: SimulatedAnswer) {
  return {
    promptTokenCount: a.promptTokens,
    candidatesTokenCount: a.completionTokens,
    totalTokenCount: a.promptTokens + a.completionTokens,
  };
}

export const DIALECTS: readonly SimDialect[] = [chat, responses, messages, generate];
