/**
 * Request decoding warmed before the gateway serves (decision 0205). Each codec's Ajv validator is compiled
 * to JavaScript at start-up, but V8 compiles that (large) function to bytecode only when it first runs: on
 * a slow machine the first chat request spent ≈ 19 ms in it, and every request arriving meanwhile waited.
 * Decoding a few typical bodies per endpoint at start-up moves that work before `/health/ready`.
 *
 * Decoding is pure (parse, validate, translate): nothing is sent, stored, counted or logged per body.
 */
import type { EndpointName } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';

interface Example {
  body: unknown;
  /** The route's path parameters (the stored-prompt route). */
  params?: Record<string, string>;
}

const TOOL = {
  type: 'function',
  function: {
    name: 'lookup',
    description: 'Looks a word up.',
    parameters: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
  },
};

const CHAT_MESSAGES = [
  { role: 'system', content: 'Answer in one word.' },
  { role: 'user', content: 'Say hello.' },
];

/** Typical bodies per endpoint: the common shapes (plain, streamed, with tools), each valid. */
export const WARM_UP_EXAMPLES: Readonly<Record<EndpointName, readonly Example[]>> = {
  chat: [
    { body: { model: 'warm-up-model', messages: CHAT_MESSAGES, temperature: 0.7, max_tokens: 16 } },
    {
      body: {
        model: 'warm-up-model',
        messages: CHAT_MESSAGES,
        stream: true,
        stream_options: { include_usage: true },
        metadata: { team: 'warm-up' },
      },
    },
    {
      body: {
        model: 'warm-up-model',
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Define hello.' }] },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"word":"hello"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'A greeting.' },
        ],
        tools: [TOOL],
        tool_choice: 'auto',
        response_format: { type: 'json_object' },
      },
    },
  ],
  completions: [{ body: { model: 'warm-up-model', prompt: 'Say hello.', max_tokens: 16 } }],
  embeddings: [
    { body: { model: 'warm-up-model', input: 'hello' } },
    { body: { model: 'warm-up-model', input: ['hello', 'world'], encoding_format: 'float' } },
  ],
  messages: [
    {
      body: {
        model: 'warm-up-model',
        max_tokens: 16,
        system: 'Answer in one word.',
        messages: [{ role: 'user', content: 'Say hello.' }],
      },
    },
    {
      body: {
        model: 'warm-up-model',
        max_tokens: 16,
        stream: true,
        tools: [
          {
            name: 'lookup',
            description: 'Looks a word up.',
            input_schema: TOOL.function.parameters,
          },
        ],
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Define hello.' }] },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { word: 'hello' } }],
          },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'A greeting.' }],
          },
        ],
      },
    },
  ],
  responses: [
    { body: { model: 'warm-up-model', input: 'Say hello.' } },
    {
      body: {
        model: 'warm-up-model',
        instructions: 'Answer in one word.',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] }],
        tools: [{ type: 'function', ...TOOL.function }],
        stream: true,
      },
    },
  ],
  prompts: [{ body: { variables: { name: 'world' } }, params: { id: 'warm-up' } }],
};

/** What a warm-up did: bodies decoded, and the endpoints whose examples did not decode (a defect). */
export interface WarmUp {
  decoded: number;
  failed: string[];
}

/**
 * Decodes the examples of every codec once; never throws (the gateway starts whatever happens here). An
 * example that does not decode is logged: the warm-up then misses part of what it is for.
 */
export function warmCodecs(
  codecs: readonly EndpointCodec[],
  log: { warn(obj: object, msg: string): void },
): WarmUp {
  const done: WarmUp = { decoded: 0, failed: [] };
  for (const codec of codecs) {
    for (const example of WARM_UP_EXAMPLES[codec.name] ?? []) {
      try {
        codec.decode(JSON.stringify(example.body), undefined, example.params);
        done.decoded++;
      } catch {
        done.failed.push(codec.name);
      }
    }
  }
  if (done.failed.length > 0) {
    log.warn({ event: 'gateway.warm_up', failed: done.failed }, 'a warm-up body did not decode');
  }
  return done;
}
