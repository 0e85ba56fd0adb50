import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChatRequest } from '../types.js';
import { toGeminiRequest } from './request.js';

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
      additionalProperties: false,
    },
    strict: true,
  },
} as const;

function req(fields: Partial<ChatRequest>): ChatRequest {
  return { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Hi' }], ...fields } as ChatRequest;
}

test('minimal request: one user text, no config keys', () => {
  assert.deepStrictEqual(toGeminiRequest(req({})), { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
});

test('system and developer messages become one systemInstruction; roles map and merge', () => {
  const body = toGeminiRequest(
    req({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'Anyone there?' }] },
        { role: 'assistant', content: 'Bonjour.' },
        { role: 'assistant', content: [{ type: 'text', text: 'Oui.' }] },
        { role: 'user', content: 'Merci' },
      ],
    }),
  );
  assert.deepStrictEqual(body, {
    contents: [
      { role: 'user', parts: [{ text: 'Hello' }, { text: 'Anyone there?' }] },
      { role: 'model', parts: [{ text: 'Bonjour.' }, { text: 'Oui.' }] },
      { role: 'user', parts: [{ text: 'Merci' }] },
    ],
    systemInstruction: { parts: [{ text: 'You are terse.\n\nAnswer in French.' }] },
  });
});

test('images (data: URL and http URL), audio and inline files', () => {
  const body = toGeminiRequest(
    req({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            {
              type: 'image_url',
              image_url: { url: 'https://example.com/cats/tabby.WEBP?size=large', detail: 'high' },
            },
            { type: 'image_url', image_url: { url: 'https://example.com/render' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'input_audio', input_audio: { data: 'SUQzBA==', format: 'mp3' } },
            { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
            { type: 'file', file: { file_data: 'JVBERi0=', filename: 'notes.txt' } },
          ],
        },
      ],
    }),
  );
  assert.deepStrictEqual(body, {
    contents: [
      {
        role: 'user',
        parts: [
          { text: 'Compare these.' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { fileUri: 'https://example.com/cats/tabby.WEBP?size=large', mimeType: 'image/webp' } },
          { fileData: { fileUri: 'https://example.com/render', mimeType: 'image/jpeg' } },
          { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
          { inlineData: { mimeType: 'audio/mp3', data: 'SUQzBA==' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
          { inlineData: { mimeType: 'text/plain', data: 'JVBERi0=' } },
        ],
      },
    ],
  });
});

test('tools become parametersJsonSchema declarations; parameters omitted when absent', () => {
  const body = toGeminiRequest(
    req({ tools: [weatherTool, { type: 'function', function: { name: 'get_time' } }], tool_choice: 'auto' }),
  );
  assert.deepStrictEqual(body, {
    contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
    tools: [
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Current weather for a city.',
            parametersJsonSchema: {
              type: 'object',
              properties: { city: { type: 'string' } },
              required: ['city'],
              additionalProperties: false,
            },
          },
          { name: 'get_time' },
        ],
      },
    ],
    toolConfig: { functionCallingConfig: { mode: 'AUTO' } },
  });
});

test('every tool_choice maps to a functionCallingConfig', () => {
  const cases: Array<[ChatRequest['tool_choice'], unknown]> = [
    ['auto', { functionCallingConfig: { mode: 'AUTO' } }],
    ['none', { functionCallingConfig: { mode: 'NONE' } }],
    ['required', { functionCallingConfig: { mode: 'ANY' } }],
    [
      { type: 'function', function: { name: 'get_weather' } },
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
    ],
  ];
  for (const [choice, toolConfig] of cases) {
    const body = toGeminiRequest(req({ tools: [weatherTool], tool_choice: choice }));
    assert.deepStrictEqual(body.toolConfig, toolConfig, `tool_choice ${JSON.stringify(choice)}`);
  }
  assert.equal(
    'toolConfig' in toGeminiRequest(req({ tools: [weatherTool], tool_choice: null as never })),
    false,
  );
});

test('assistant tool_calls and tool results (name looked up by tool_call_id)', () => {
  const body = toGeminiRequest(
    req({
      messages: [
        { role: 'user', content: 'Weather in Paris and the time?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              id: 'call_a',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp_c":21,"sky":"clear"}' },
        { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: '14:05' }] },
        { role: 'tool', tool_call_id: 'call_a', content: '[1,2]' },
      ],
    }),
  );
  assert.deepStrictEqual(body, {
    contents: [
      { role: 'user', parts: [{ text: 'Weather in Paris and the time?' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_time', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp_c: 21, sky: 'clear' } } },
          { functionResponse: { name: 'get_time', response: { content: '14:05' } } },
          { functionResponse: { name: 'get_weather', response: { content: '[1,2]' } } },
        ],
      },
    ],
  });
});

test('tool call ids carrying a thought signature put it on the functionCall part; names still resolve', () => {
  const signed = 'call_0123456789abcdef01234567__thought__CiQB0e2Kb7Zx+Yk3t/9p2tq0kQ==';
  const body = toGeminiRequest(
    req({
      model: 'gemini-3-pro-preview',
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            {
              id: signed,
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
            },
            {
              id: 'call_fedcba9876543210fedcba98',
              type: 'function',
              function: { name: 'get_weather', arguments: '{"city":"Oslo"}' },
            },
            { id: 'toolu_01XyZ', type: 'function', function: { name: 'get_time', arguments: '{}' } },
            { id: 'call_1__thought__', type: 'function', function: { name: 'get_date', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: signed, content: '{"temp_c":21}' },
        { role: 'tool', tool_call_id: 'call_fedcba9876543210fedcba98', content: '{"temp_c":9}' },
        { role: 'tool', tool_call_id: 'toolu_01XyZ', content: '14:05' },
        { role: 'tool', tool_call_id: 'call_1__thought__', content: 'Monday' },
      ],
    }),
  );
  assert.deepStrictEqual(body, {
    contents: [
      { role: 'user', parts: [{ text: 'Weather in Paris and Oslo?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          {
            functionCall: { name: 'get_weather', args: { city: 'Paris' } },
            thoughtSignature: 'CiQB0e2Kb7Zx+Yk3t/9p2tq0kQ==',
          },
          { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
          { functionCall: { name: 'get_time', args: {} } },
          { functionCall: { name: 'get_date', args: {} } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp_c: 21 } } },
          { functionResponse: { name: 'get_weather', response: { temp_c: 9 } } },
          { functionResponse: { name: 'get_time', response: { content: '14:05' } } },
          { functionResponse: { name: 'get_date', response: { content: 'Monday' } } },
        ],
      },
    ],
  });
});

test('sampling options: stop, n, penalties, seed, max tokens', () => {
  const body = toGeminiRequest(
    req({
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 256,
      stop: 'END',
      n: 2,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 42,
    }),
  );
  assert.deepStrictEqual(body.generationConfig, {
    temperature: 0.2,
    topP: 0.9,
    maxOutputTokens: 256,
    stopSequences: ['END'],
    candidateCount: 2,
    presencePenalty: 0.5,
    frequencyPenalty: -0.5,
    seed: 42,
  });
  assert.deepStrictEqual(toGeminiRequest(req({ max_tokens: 100, stop: ['a', 'b'] })).generationConfig, {
    maxOutputTokens: 100,
    stopSequences: ['a', 'b'],
  });
});

test('null options and dropped fields leave no trace', () => {
  const body = toGeminiRequest(
    req({
      temperature: null,
      top_p: null,
      max_tokens: null,
      stop: null,
      n: null,
      seed: null,
      tools: [],
      tool_choice: null as never,
      response_format: { type: 'text' },
      user: 'u-1',
      logit_bias: { '50256': -100 },
      parallel_tool_calls: false,
      metadata: { team: 'a' },
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  assert.deepStrictEqual(body, { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
});

test('response_format json_object and json_schema', () => {
  assert.deepStrictEqual(
    toGeminiRequest(req({ response_format: { type: 'json_object' } })).generationConfig,
    {
      responseMimeType: 'application/json',
    },
  );
  const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
  const body = toGeminiRequest(
    req({
      temperature: 0,
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema, strict: true } },
    }),
  );
  assert.deepStrictEqual(body.generationConfig, {
    temperature: 0,
    responseMimeType: 'application/json',
    responseJsonSchema: schema,
  });
});

test('empty texts are left out: Gemini rejects parts without data', () => {
  const body = toGeminiRequest(
    req({
      messages: [
        { role: 'system', content: '' },
        { role: 'developer', content: [{ type: 'text', text: '' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: '' },
            { type: 'text', text: 'Hi' },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: '' },
            { type: 'refusal', refusal: '' },
          ],
        },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] },
        { role: 'user', content: [{ type: 'text', text: '' }] },
      ],
    }),
  );
  assert.deepStrictEqual(body, {
    contents: [
      { role: 'user', parts: [{ text: 'Hi' }] },
      { role: 'model', parts: [{ text: 'Hello' }] },
    ],
  });
});

test('top_k (a common non-OpenAI extension) becomes topK; other values leave it out', () => {
  assert.deepStrictEqual(toGeminiRequest(req({ top_k: 40 } as Partial<ChatRequest>)).generationConfig, {
    topK: 40,
  });
  assert.equal(toGeminiRequest(req({ top_k: 'many' } as Partial<ChatRequest>)).generationConfig, undefined);
});

test('system messages only: the instructions are the user turn (Gemini wants contents)', () => {
  assert.deepStrictEqual(
    toGeminiRequest(req({ messages: [{ role: 'system', content: 'Classify: I love it.' }] })),
    {
      contents: [{ role: 'user', parts: [{ text: 'Classify: I love it.' }] }],
    },
  );
  assert.throws(
    () => toGeminiRequest(req({ messages: [{ role: 'user', content: '' }] })),
    (err: Error & { param?: string }) => err.param === 'messages',
  );
});

test('data URL MIME types are lower-cased, and image/jpg is sent as image/jpeg', () => {
  for (const [url, mime] of [
    ['data:image/jpg;base64,AAAA', 'image/jpeg'],
    ['data:IMAGE/PNG;BASE64,AAAA', 'image/png'],
  ] as const) {
    const body = toGeminiRequest(
      req({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] }),
    );
    assert.deepStrictEqual(body.contents[0]?.parts, [{ inlineData: { mimeType: mime, data: 'AAAA' } }]);
  }
});
