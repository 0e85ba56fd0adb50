import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanonicalRequest } from '../core/context.js';
import { ValidationError } from '../core/errors.js';
import { createChatCodec } from './chat/codec.js';
import { createSchemaCompiler } from './compile.js';
import { createCompletionsCodec } from './completions/codec.js';
import {
  CHAT_SERVICE_TIERS,
  FUNCTION_CALL_MODES,
  INPUT_AUDIO_FORMATS,
  MODALITIES,
  OUTPUT_AUDIO_FORMATS,
  REASONING_EFFORTS,
  RESPONSES_INCLUDES,
  RESPONSES_SERVICE_TIERS,
  SEARCH_CONTEXT_SIZES,
  TRUNCATIONS,
  VERBOSITIES,
} from './openai-enums.js';
import { createResponsesCodec } from './responses/codec.js';

const compile = createSchemaCompiler();
const chatCodec = createChatCodec(compile);
const completionsCodec = createCompletionsCodec(compile);
const responsesCodec = createResponsesCodec(compile, { wallNow: () => 0 });

type Body = Record<string, unknown>;
const user = [{ role: 'user', content: 'hi' }];
const bodyOf = (request: CanonicalRequest): Body => request.body as Body;
const chat = (extra: Body): Body =>
  bodyOf(chatCodec.decode(JSON.stringify({ model: 'gpt-4o', messages: user, ...extra }), {}));
const completion = (extra: Body): Body =>
  bodyOf(completionsCodec.decode(JSON.stringify({ model: 'gpt-4o', prompt: 'hi', ...extra }), {}));
/** The body a native (OpenAI) deployment is sent: the client's, as it came. */
const responses = (extra: Body): Body => {
  const request = responsesCodec.decode(JSON.stringify({ model: 'gpt-4o', input: 'hi', ...extra }), {});
  assert.equal(request.kind, 'chat');
  return (request.kind === 'chat' ? request.native?.body : undefined) as Body;
};

/** Decoding `extra` throws a 422 naming `param`. */
function refused(decode: (extra: Body) => unknown, extra: Body, param: string): void {
  assert.throws(
    () => decode(extra),
    (err: unknown) => {
      assert.ok(err instanceof ValidationError, `${JSON.stringify(extra)}: ${String(err)}`);
      assert.equal(err.status, 422);
      assert.equal(err.param, param, `${JSON.stringify(extra)}: ${err.message}`);
      return true;
    },
  );
}

test('chat: every value the OpenAPI document lists is accepted and kept as sent', () => {
  const forms: Body[] = [
    ...REASONING_EFFORTS.map((reasoning_effort) => ({ reasoning_effort })),
    ...CHAT_SERVICE_TIERS.map((service_tier) => ({ service_tier })),
    ...VERBOSITIES.map((verbosity) => ({ verbosity })),
    ...OUTPUT_AUDIO_FORMATS.map((format) => ({
      modalities: [...MODALITIES],
      audio: { voice: 'alloy', format },
    })),
    { modalities: ['text'], audio: { voice: { id: 'voice_custom' }, format: 'pcm16' } },
    ...INPUT_AUDIO_FORMATS.map((format) => ({
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format } }] }],
    })),
    ...SEARCH_CONTEXT_SIZES.map((search_context_size) => ({
      web_search_options: {
        search_context_size,
        user_location: { type: 'approximate', approximate: { city: 'Paris' } },
      },
    })),
    ...FUNCTION_CALL_MODES.map((function_call) => ({ functions: [{ name: 'f' }], function_call })),
    {
      functions: [{ name: 'f', description: 'd', parameters: { type: 'object' } }],
      function_call: { name: 'f' },
    },
    { prediction: { type: 'content', content: 'abc' } },
    { prediction: { type: 'content', content: [{ type: 'text', text: 'abc' }] } },
    { store: true },
    { safety_identifier: 'x'.repeat(64) },
    { stream: true, stream_options: { include_usage: true, include_obfuscation: false } },
    { seed: Number.MAX_SAFE_INTEGER },
    { seed: -Number.MAX_SAFE_INTEGER },
    // OpenAI's `nullable` fields, as clients that send unset options as null write them.
    {
      reasoning_effort: null,
      verbosity: null,
      service_tier: null,
      modalities: null,
      audio: null,
      prediction: null,
      store: null,
      safety_identifier: null,
      seed: null,
    },
    // Not nullable in the document, but accepted as null before they were checked (decision 0235).
    { functions: null, function_call: null, web_search_options: null },
  ];
  for (const extra of forms) {
    const body = chat(extra);
    for (const [field, value] of Object.entries(extra)) {
      assert.deepEqual(body[field], value, `${field}: ${JSON.stringify(value)}`);
    }
  }
});

test('chat: values outside the document are a 422 naming the field', () => {
  const cases: Array<[Body, string]> = [
    [{ reasoning_effort: 'extreme' }, 'reasoning_effort'],
    [{ reasoning_effort: 5 }, 'reasoning_effort'],
    [{ reasoning_effort: 'constructor' }, 'reasoning_effort'],
    [{ service_tier: 'turbo' }, 'service_tier'],
    // `ultrafast` is a Responses tier only.
    [{ service_tier: 'ultrafast' }, 'service_tier'],
    [{ modalities: ['video'] }, 'modalities[0]'],
    [{ modalities: 'text' }, 'modalities'],
    [{ modalities: ['text', 'audio'], audio: { format: 'wav' } }, 'audio.voice'],
    [{ modalities: ['text', 'audio'], audio: { voice: 'alloy' } }, 'audio.format'],
    [{ modalities: ['text', 'audio'], audio: { voice: 'alloy', format: 'ogg' } }, 'audio.format'],
    [{ prediction: { type: 'other', content: 'x' } }, 'prediction.type'],
    [{ prediction: { type: 'content' } }, 'prediction.content'],
    [{ store: 'yes' }, 'store'],
    [{ verbosity: 'loud' }, 'verbosity'],
    [{ web_search_options: { search_context_size: 'huge' } }, 'web_search_options.search_context_size'],
    [{ functions: [{ description: 'no name' }] }, 'functions[0].name'],
    [{ functions: [] }, 'functions'],
    [{ functions: [{ name: 'f' }], function_call: 'sometimes' }, 'function_call'],
    [{ functions: [{ name: 'f' }], function_call: {} }, 'function_call.name'],
    [
      {
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'ogg' } }] },
        ],
      },
      'messages[0].content[0].input_audio.format',
    ],
    [{ safety_identifier: 'x'.repeat(65) }, 'safety_identifier'],
    [{ stream: true, stream_options: { include_obfuscation: 'x' } }, 'stream_options.include_obfuscation'],
  ];
  for (const [extra, param] of cases) refused(chat, extra, param);
});

test('seed: an integer a double cannot hold exactly is a 422 naming seed (chat and completions)', () => {
  // 9007199254740993 parses as …992: forwarding it would change the client's seed without a word.
  for (const decode of [
    (raw: string) =>
      chatCodec.decode(`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],${raw}}`, {}),
    (raw: string) => completionsCodec.decode(`{"model":"gpt-4o","prompt":"hi",${raw}}`, {}),
  ]) {
    for (const seed of ['9007199254740993', '9007199254740992', '-9007199254740993', '9223372036854775807']) {
      assert.throws(
        () => decode(`"seed":${seed}`),
        (err: unknown) => err instanceof ValidationError && err.param === 'seed',
        seed,
      );
    }
    assert.equal(bodyOf(decode('"seed":9007199254740991')).seed, 9_007_199_254_740_991);
  }
});

test('completions: the chat fields a client adds meet the chat checks', () => {
  refused(completion, { reasoning_effort: 'extreme' }, 'reasoning_effort');
  refused(completion, { service_tier: 'turbo' }, 'service_tier');
  refused(
    completion,
    { stream: true, stream_options: { include_obfuscation: 'x' } },
    'stream_options.include_obfuscation',
  );
  assert.equal(completion({ reasoning_effort: 'max' }).reasoning_effort, 'max');
  assert.equal(completion({ logprobs: 0, n: 2, seed: -1 }).top_logprobs, 0);
});

test('responses: every value the OpenAPI document lists is accepted and forwarded as sent', () => {
  const forms: Body[] = [
    ...REASONING_EFFORTS.map((effort) => ({ reasoning: { effort, summary: 'auto' } })),
    ...RESPONSES_SERVICE_TIERS.map((service_tier) => ({ service_tier })),
    ...VERBOSITIES.map((verbosity) => ({ text: { verbosity, format: { type: 'text' } } })),
    ...TRUNCATIONS.map((truncation) => ({ truncation })),
    { include: [...RESPONSES_INCLUDES] },
    { max_output_tokens: 16, top_logprobs: 0, max_tool_calls: 3, background: false },
    { top_logprobs: 20 },
    {
      store: true,
      metadata: Object.fromEntries(
        Array.from({ length: 16 }, (_, i) => [`${'k'.repeat(62)}${i}`, 'v'.repeat(512)]),
      ),
    },
    { prompt: { id: 'pmpt_1', version: null, variables: { city: 'Paris' } } },
    { conversation: 'conv_1' },
    { conversation: { id: 'conv_1' } },
    { stream: true, stream_options: { include_obfuscation: false } },
    { safety_identifier: 'x'.repeat(64) },
    {
      truncation: null,
      service_tier: null,
      include: null,
      background: null,
      prompt: null,
      conversation: null,
      stream_options: null,
      safety_identifier: null,
      max_tool_calls: null,
      top_logprobs: null,
    },
  ];
  for (const extra of forms) {
    const body = responses(extra);
    for (const [field, value] of Object.entries(extra)) {
      assert.deepEqual(body[field], value, `${field}: ${JSON.stringify(value)}`);
    }
  }
});

test('responses: values outside the document are a 422 naming the field', () => {
  const many = (n: number, key = (i: number) => `k${i}`, value = 'v') =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [key(i), value]));
  const cases: Array<[Body, string]> = [
    [{ max_output_tokens: 15 }, 'max_output_tokens'],
    [{ top_logprobs: 21 }, 'top_logprobs'],
    [{ top_logprobs: -1 }, 'top_logprobs'],
    [{ truncation: 'middle' }, 'truncation'],
    [{ service_tier: 'turbo' }, 'service_tier'],
    [{ include: ['everything'] }, 'include[0]'],
    [{ text: { verbosity: 'loud' } }, 'text.verbosity'],
    [{ background: 'yes' }, 'background'],
    [{ metadata: many(17) }, 'metadata'],
    [{ metadata: many(1, () => 'k'.repeat(65)) }, 'metadata'],
    [{ metadata: many(1, undefined, 'v'.repeat(513)) }, 'metadata.k0'],
    [{ prompt: { version: '1' } }, 'prompt.id'],
    [{ conversation: 5 }, 'conversation'],
    [{ conversation: {} }, 'conversation.id'],
    [{ stream: true, stream_options: { include_obfuscation: 'x' } }, 'stream_options.include_obfuscation'],
    [{ safety_identifier: 'x'.repeat(65) }, 'safety_identifier'],
    [{ max_tool_calls: 'x' }, 'max_tool_calls'],
    [{ max_tool_calls: 1.5 }, 'max_tool_calls'],
    [{ max_tool_calls: 2 ** 60 }, 'max_tool_calls'],
    [{ reasoning: { effort: 'extreme' } }, 'reasoning.effort'],
  ];
  for (const [extra, param] of cases) refused(responses, extra, param);
});
