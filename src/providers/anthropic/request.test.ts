import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BadRequestError } from '../../core/errors.js';
import type { ChatRequest } from '../types.js';
import { jsonSchemaToolName, toAnthropicRequest } from './request.js';

const MODEL = 'claude-sonnet-4-5';

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8'));
}

function request(extra: Record<string, unknown> = {}): ChatRequest {
  return { model: 'claude', messages: [{ role: 'user', content: 'Hi' }], ...extra } as ChatRequest;
}

const HI = [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }];

function assertBadRequest(fn: () => unknown, param: string, code = 'unsupported_parameter'): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadRequestError, `expected BadRequestError, got ${String(err)}`);
    assert.equal(err.param, param);
    assert.equal(err.code, code);
    assert.equal(err.status, 400);
    return true;
  });
}

test('minimal request: default max_tokens, text block, nothing else', () => {
  assert.deepStrictEqual(toAnthropicRequest(request(), MODEL, 4096), {
    model: MODEL,
    max_tokens: 4096,
    messages: HI,
  });
});

test('max_completion_tokens wins over max_tokens, which wins over the default; null means absent', () => {
  const max = (extra: Record<string, unknown>) => toAnthropicRequest(request(extra), MODEL, 4096).max_tokens;
  assert.equal(max({ max_completion_tokens: 100, max_tokens: 200 }), 100);
  assert.equal(max({ max_tokens: 200 }), 200);
  assert.equal(max({ max_completion_tokens: null, max_tokens: null }), 4096);
});

test('system and developer messages go to top-level system, joined by blank lines', () => {
  const body = toAnthropicRequest(
    request({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hi' },
        { role: 'developer', content: 'Never use emoji.' },
      ],
    }),
    MODEL,
    1024,
  );
  assert.deepStrictEqual(body, {
    model: MODEL,
    max_tokens: 1024,
    system: 'You are terse.\n\nAnswer in French.\n\nNever use emoji.',
    messages: HI,
  });
});

test('images: data URL becomes base64 source, http(s) URL a url source; PDF file becomes a document', () => {
  const body = toAnthropicRequest(
    request({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
            {
              type: 'file',
              file: { filename: 'report.pdf', file_data: 'data:application/pdf;base64,JVBERi0x' },
            },
          ],
        },
      ],
    }),
    MODEL,
    1024,
  );
  assert.deepStrictEqual(body.messages, [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'Compare these.' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
        { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        {
          type: 'document',
          title: 'report.pdf',
          source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0x' },
        },
      ],
    },
  ]);
});

test('unsupported content is a BadRequestError naming the part', () => {
  const withPart = (part: unknown) =>
    request({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, part] }] });
  const audio = { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } };
  assertBadRequest(() => toAnthropicRequest(withPart(audio), MODEL, 1), 'messages[0].content[1].type');
  const bmp = { type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } };
  assertBadRequest(() => toAnthropicRequest(withPart(bmp), MODEL, 1), 'messages[0].content[1].image_url.url');
  const fileId = { type: 'file', file: { file_id: 'file-abc' } };
  assertBadRequest(
    () => toAnthropicRequest(withPart(fileId), MODEL, 1),
    'messages[0].content[1].file.file_id',
  );
});

test('tool conversation: tool_use blocks, merged tool results, alternation, dropped fields', () => {
  const req = fixture('request-tool-conversation.openai.json') as ChatRequest;
  assert.deepStrictEqual(
    toAnthropicRequest(req, MODEL, 1024),
    fixture('request-tool-conversation.anthropic.json'),
  );
});

test('tool_choice variants and parallel_tool_calls: false', () => {
  const tools = [
    { type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } },
  ];
  const choice = (extra: Record<string, unknown>) =>
    toAnthropicRequest(request({ tools, ...extra }), MODEL, 1).tool_choice;
  assert.equal(choice({}), undefined);
  assert.deepStrictEqual(choice({ tool_choice: 'auto' }), { type: 'auto' });
  assert.deepStrictEqual(choice({ tool_choice: 'required' }), { type: 'any' });
  assert.deepStrictEqual(choice({ tool_choice: 'none' }), { type: 'none' });
  assert.deepStrictEqual(choice({ tool_choice: { type: 'function', function: { name: 'f' } } }), {
    type: 'tool',
    name: 'f',
  });
  assert.deepStrictEqual(choice({ parallel_tool_calls: false }), {
    type: 'auto',
    disable_parallel_tool_use: true,
  });
  assert.deepStrictEqual(choice({ tool_choice: 'required', parallel_tool_calls: false }), {
    type: 'any',
    disable_parallel_tool_use: true,
  });
  assert.deepStrictEqual(choice({ tool_choice: 'none', parallel_tool_calls: false }), { type: 'none' });
  assert.deepStrictEqual(choice({ parallel_tool_calls: true }), undefined);
});

test('tool_choice and parallel_tool_calls without tools are not sent', () => {
  const body = toAnthropicRequest(request({ tool_choice: 'auto', parallel_tool_calls: false }), MODEL, 1);
  assert.deepStrictEqual(body, { model: MODEL, max_tokens: 1, messages: HI });
});

test('custom tools and custom tool_choice are rejected', () => {
  const custom = [{ type: 'custom', custom: { name: 'grammar' } }];
  assertBadRequest(() => toAnthropicRequest(request({ tools: custom }), MODEL, 1), 'tools[0].type');
  const choice = { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [] } };
  const tools = [{ type: 'function', function: { name: 'f' } }];
  assertBadRequest(
    () => toAnthropicRequest(request({ tools, tool_choice: choice }), MODEL, 1),
    'tool_choice',
  );
});

test('stop: string and array become stop_sequences; null is absent', () => {
  assert.deepStrictEqual(toAnthropicRequest(request({ stop: 'END' }), MODEL, 1).stop_sequences, ['END']);
  assert.deepStrictEqual(toAnthropicRequest(request({ stop: ['a', 'b'] }), MODEL, 1).stop_sequences, [
    'a',
    'b',
  ]);
  assert.equal('stop_sequences' in toAnthropicRequest(request({ stop: null }), MODEL, 1), false);
});

test('sampling, user, stream; nulls absent; temperature not clamped', () => {
  const body = toAnthropicRequest(
    request({ temperature: 1.5, top_p: 0.9, top_k: 40, user: 'u-1', stream: true, seed: null, n: 1 }),
    MODEL,
    64,
  );
  assert.deepStrictEqual(body, {
    model: MODEL,
    max_tokens: 64,
    messages: HI,
    temperature: 1.5,
    top_p: 0.9,
    top_k: 40,
    metadata: { user_id: 'u-1' },
    stream: true,
  });
  // `safety_identifier`, OpenAI's successor of `user`, is the id when both are set.
  const both = toAnthropicRequest(request({ user: 'u-1', safety_identifier: 'h-2' }), MODEL, 64);
  assert.deepStrictEqual(both.metadata, { user_id: 'h-2' });
  const nulls = toAnthropicRequest(request({ temperature: null, top_p: null, stream: false }), MODEL, 64);
  assert.deepStrictEqual(nulls, { model: MODEL, max_tokens: 64, messages: HI });
});

test('response_format json_object appends a JSON-only instruction to system', () => {
  const body = toAnthropicRequest(
    request({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      response_format: { type: 'json_object' },
    }),
    MODEL,
    1,
  );
  assert.match(body.system as string, /^Be brief\.\n\nRespond with a single valid JSON object only/);
});

test('response_format json_schema becomes a forced tool', () => {
  const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] };
  const req = request({
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
  });
  assert.equal(jsonSchemaToolName(req), 'person');
  assert.deepStrictEqual(toAnthropicRequest(req, MODEL, 1), {
    model: MODEL,
    max_tokens: 1,
    messages: HI,
    tools: [
      {
        name: 'person',
        description: 'Answer by calling this tool; its input is the response, as a JSON object.',
        input_schema: schema,
      },
    ],
    tool_choice: { type: 'tool', name: 'person' },
  });
  const unnamed = request({ response_format: { type: 'json_schema', json_schema: { name: '' } } });
  assert.equal(jsonSchemaToolName(unnamed), 'json_response');
  assert.equal(jsonSchemaToolName(request()), undefined);
});

test('json_schema with client tools lets the model pick any tool', () => {
  const tools = [{ type: 'function', function: { name: 'search' } }];
  const req = request({ tools, response_format: { type: 'json_schema', json_schema: { name: 'answer' } } });
  const body = toAnthropicRequest(req, MODEL, 1);
  assert.deepStrictEqual(
    body.tools?.map((t) => t.name),
    ['search', 'answer'],
  );
  assert.deepStrictEqual(body.tool_choice, { type: 'any' });
});

test('n > 1 is rejected with param n', () => {
  assertBadRequest(() => toAnthropicRequest(request({ n: 2 }), MODEL, 1), 'n');
});

test('invalid tool call arguments are rejected, naming the call', () => {
  const messages = [
    { role: 'user', content: 'Hi' },
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'a', type: 'function', function: { name: 'f', arguments: '{}' } },
        { id: 'b', type: 'function', function: { name: 'f', arguments: '{"x":' } },
      ],
    },
  ];
  assertBadRequest(
    () => toAnthropicRequest(request({ messages }), MODEL, 1),
    'messages[1].tool_calls[1].function.arguments',
    'invalid_request',
  );
});

test('tool call ids outside [a-zA-Z0-9_-] are rewritten alike in tool_use and tool_result', () => {
  // Anthropic rejects other ids ("String should match pattern '^[a-zA-Z0-9_-]+$'"); this gateway's Gemini
  // ids carry a base64 thought signature, other servers send ids like `functions.get_weather:0`.
  const geminiId = 'call_0123456789abcdef01234567__thought__CiQB+/x=';
  const otherId = 'functions.get_weather:0';
  const call = (id: string) => ({ id, type: 'function', function: { name: 'get_weather', arguments: '{}' } });
  const body = toAnthropicRequest(
    request({
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [call(geminiId), call(otherId), call('toolu_01A-b_c')],
        },
        { role: 'tool', tool_call_id: geminiId, content: 'sunny' },
        { role: 'tool', tool_call_id: otherId, content: 'rainy' },
        { role: 'tool', tool_call_id: 'toolu_01A-b_c', content: 'windy' },
      ],
    }),
    MODEL,
    1024,
  );
  const geminiOut = 'call_0123456789abcdef01234567__thought___231eb5aa6a6d2893';
  const otherOut = 'functions_get_weather_0_79ac1aaab216b228';
  const use = (id: string) => ({ type: 'tool_use', id, name: 'get_weather', input: {} });
  const result = (id: string, content: string) => ({ type: 'tool_result', tool_use_id: id, content });
  assert.deepStrictEqual(body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
    { role: 'assistant', content: [use(geminiOut), use(otherOut), use('toolu_01A-b_c')] },
    {
      role: 'user',
      content: [result(geminiOut, 'sunny'), result(otherOut, 'rainy'), result('toolu_01A-b_c', 'windy')],
    },
  ]);
});

test('tool schemas get the type: "object" Anthropic requires; image/jpg is read as image/jpeg', () => {
  const body = toAnthropicRequest(
    request({
      messages: [
        {
          role: 'user',
          content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,AAAA' } }],
        },
      ],
      tools: [
        {
          type: 'function',
          function: { name: 'lookup', parameters: { properties: { q: { type: 'string' } } } },
        },
      ],
    }),
    MODEL,
    1024,
  );
  assert.deepStrictEqual(body.tools, [
    { name: 'lookup', input_schema: { type: 'object', properties: { q: { type: 'string' } } } },
  ]);
  assert.deepStrictEqual(body.messages[0]?.content, [
    { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'AAAA' } },
  ]);
});

test('an assistant turn that is only an OpenAI audio reference is refused, not dropped', () => {
  const audioTurn = (content: string | null) =>
    request({
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content, audio: { id: 'audio_abc' } },
        { role: 'user', content: 'And?' },
      ],
    });
  assertBadRequest(() => toAnthropicRequest(audioTurn(null), MODEL, 1024), 'messages[1].audio');
  // With its transcript as content, the turn is kept and the reference dropped.
  const body = toAnthropicRequest(audioTurn('Hello there'), MODEL, 1024);
  assert.deepEqual(body.messages[1], { role: 'assistant', content: [{ type: 'text', text: 'Hello there' }] });
});

test('whitespace-only stop sequences and texts are dropped; Anthropic refuses both', () => {
  assert.deepStrictEqual(
    toAnthropicRequest(request({ stop: ['\n', 'END', ' \t'] }), MODEL, 1).stop_sequences,
    ['END'],
  );
  assert.equal('stop_sequences' in toAnthropicRequest(request({ stop: '\n\n' }), MODEL, 1), false);
  const body = toAnthropicRequest(
    request({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'look' },
            { type: 'text', text: '\n' },
          ],
        },
        {
          role: 'assistant',
          content: '\n\n',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
        { role: 'assistant', content: ' ' },
        { role: 'user', content: 'again' },
      ],
    }),
    MODEL,
    1,
  );
  assert.deepStrictEqual(body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'look' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'f', input: {} }] },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'c1', content: 'ok' },
        { type: 'text', text: 'again' },
      ],
    },
  ]);
});

test('a final assistant turn (a prefill) loses its trailing whitespace', () => {
  const body = toAnthropicRequest(
    request({
      messages: [
        { role: 'user', content: 'Name a colour.' },
        { role: 'assistant', content: 'The colour is ' },
      ],
    }),
    MODEL,
    1,
  );
  assert.deepStrictEqual(body.messages.at(-1), {
    role: 'assistant',
    content: [{ type: 'text', text: 'The colour is' }],
  });
});

test('system messages only: the instructions are the user turn; no text at all is a 400', () => {
  const body = toAnthropicRequest(
    request({
      messages: [{ role: 'system', content: 'Classify: I love it.' }],
      response_format: { type: 'json_object' },
    }),
    MODEL,
    1,
  );
  assert.deepStrictEqual(body.messages, [
    { role: 'user', content: [{ type: 'text', text: 'Classify: I love it.' }] },
  ]);
  assert.match(String(body.system), /JSON/);
  assertBadRequest(
    () => toAnthropicRequest(request({ messages: [{ role: 'user', content: ' ' }] }), MODEL, 1),
    'messages',
    'invalid_request',
  );
});
