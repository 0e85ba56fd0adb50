/**
 * Wire compatibility (DESIGN §1.1): every body the gateway answers with — completions, stream chunks, the
 * models list and error bodies — validates against OpenAI's own JSON Schemas, for each provider adapter.
 * This is also the end-to-end test of the Anthropic and Gemini translations: text, tool calls, finish
 * reasons and usage must survive the round trip through the mock's native dialect.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import type { MockAnswer } from '../fixtures/mock-upstream/types.js';
import { postJson, readSseData, startGateway, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas, type OpenAISchemas } from '../helpers/openai-schemas.js';

const PROVIDERS = [
  { provider: 'openai', model: 'gpt-4o', dialect: 'openai' },
  { provider: 'anthropic', model: 'claude-3-5-haiku-latest', dialect: 'anthropic' },
  { provider: 'gemini', model: 'gemini-2.5-flash', dialect: 'gemini' },
] as const;

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

const USAGE: MockAnswer['usage'] = { prompt: 21, completion: 7, cached: 3 };
const EXPECTED_USAGE = { prompt_tokens: 21, completion_tokens: 7, total_tokens: 28 };
const TOOL_ANSWER: Partial<MockAnswer> = {
  toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
  finishReason: 'tool_calls',
  text: '',
  chunks: [],
  usage: USAGE,
};

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: Array<{
    index: number;
    finish_reason: string | null;
    delta: {
      content?: string | null;
      tool_calls?: Array<{
        index: number;
        id?: string;
        type?: string;
        function?: { name?: string; arguments?: string };
      }>;
    };
  }>;
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number };
  } | null;
}

interface Completion {
  object: string;
  model: string;
  choices: Array<{
    finish_reason: string;
    message: {
      role: string;
      content: string | null;
      tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    };
  }>;
  usage: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number };
  };
}

/** Reads a stream; checks every chunk against the schema and that it ends with [DONE]. */
async function readChunks(res: Response, schemas: OpenAISchemas): Promise<Chunk[]> {
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events = await readSseData(res);
  assert.equal(events.at(-1), '[DONE]', `stream must end with [DONE]: ${events.join(' | ')}`);
  assert.equal(events.filter((e) => e === '[DONE]').length, 1);
  return events.slice(0, -1).map((data, i) => {
    const chunk = JSON.parse(data) as Chunk;
    assertSchema(schemas.chunk, chunk, `chunk ${i}`);
    assert.equal(chunk.object, 'chat.completion.chunk');
    return chunk;
  });
}

function usageOf(u: Completion['usage'] | Chunk['usage']) {
  assert.ok(u, 'usage present');
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.total_tokens,
  };
}

describe('responses validate against OpenAI JSON Schemas, for every provider', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  // Frames spaced out, so a `disconnect` fault cuts the stream after frames that did reach the gateway
  // (destroying a socket right after writing can discard the unflushed frames).
  let pacedMock: MockUpstream;
  let pacedGw: TestGateway;
  let schemas: OpenAISchemas;
  const url = () => `${gw.url}/v1/chat/completions`;

  before(async () => {
    schemas = loadOpenAISchemas();
    mock = await MockUpstream.start();
    gw = await startGateway({ mock });
    pacedMock = await MockUpstream.start({ frameIntervalMs: 5 });
    pacedGw = await startGateway({ mock: pacedMock });
  });
  after(async () => {
    await Promise.all([gw.close(), pacedGw.close()]);
    await Promise.all([mock.close(), pacedMock.close()]);
  });
  beforeEach(() => {
    mock.reset();
    pacedMock.reset();
  });

  for (const { provider, model, dialect } of PROVIDERS) {
    describe(provider, () => {
      test('non-stream text answer', async () => {
        mock.setAnswer({ usage: USAGE });
        const res = await postJson(url(), { model, messages: [{ role: 'user', content: 'Say hello' }] });
        assert.equal(res.status, 200);
        const body = (await res.json()) as Completion;
        assertSchema(schemas.completion, body, `${provider} completion`);
        assert.equal(mock.requests[0]?.dialect, dialect, 'the request went out in the provider dialect');
        assert.equal(res.headers.get('x-provider'), provider);
        assert.equal(body.object, 'chat.completion');
        assert.equal(body.model, model);
        assert.equal(body.choices.length, 1);
        assert.equal(body.choices[0]?.message.role, 'assistant');
        assert.equal(body.choices[0]?.message.content, 'Hello from the mock');
        assert.equal(body.choices[0]?.message.tool_calls, undefined);
        assert.equal(body.choices[0]?.finish_reason, 'stop');
        assert.deepEqual(usageOf(body.usage), EXPECTED_USAGE);
        assert.equal(body.usage.prompt_tokens_details?.cached_tokens, 3);
      });

      test('non-stream tool-call answer', async () => {
        mock.setAnswer(TOOL_ANSWER);
        const res = await postJson(url(), {
          model,
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
          tools: TOOLS,
        });
        assert.equal(res.status, 200);
        const body = (await res.json()) as Completion;
        assertSchema(schemas.completion, body, `${provider} tool-call completion`);
        assert.deepEqual(mock.requests[0]?.parsed?.toolNames, ['get_weather'], 'tools were translated');
        const choice = body.choices[0];
        assert.equal(choice?.finish_reason, 'tool_calls');
        assert.equal(choice?.message.content, null);
        assert.equal(choice?.message.tool_calls?.length, 1);
        const call = choice?.message.tool_calls?.[0];
        assert.equal(call?.type, 'function');
        assert.equal(call?.function.name, 'get_weather');
        assert.deepEqual(JSON.parse(call?.function.arguments ?? ''), { city: 'Paris' });
        // Gemini has no call ids; the gateway makes one up. The others pass the provider's through.
        if (provider === 'gemini') assert.match(call?.id ?? '', /^call_\w+$/);
        else assert.equal(call?.id, 'call_1');
        assert.deepEqual(usageOf(body.usage), EXPECTED_USAGE);
      });

      test('stream text answer with include_usage', async () => {
        mock.setAnswer({ usage: USAGE });
        const res = await postJson(url(), {
          model,
          messages: [{ role: 'user', content: 'Say hello' }],
          stream: true,
          stream_options: { include_usage: true },
        });
        assert.equal(res.headers.get('x-provider'), provider);
        const chunks = await readChunks(res.response, schemas);
        assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
        assert.equal(text, 'Hello from the mock');
        const finishes = chunks
          .flatMap((c) => c.choices.map((ch) => ch.finish_reason))
          .filter((f) => f !== null);
        assert.deepEqual(finishes, ['stop']);
        const last = chunks.at(-1);
        assert.deepEqual(last?.choices, [], 'the usage chunk has no choices');
        assert.deepEqual(usageOf(last?.usage), EXPECTED_USAGE);
        assert.equal(last?.usage?.prompt_tokens_details?.cached_tokens, 3);
        assert.ok(
          chunks.slice(0, -1).every((c) => c.usage === undefined || c.usage === null),
          'usage only on the last chunk',
        );
      });

      test('stream without include_usage carries no usage', async () => {
        const res = await postJson(url(), {
          model,
          messages: [{ role: 'user', content: 'Say hello' }],
          stream: true,
        });
        const chunks = await readChunks(res.response, schemas);
        assert.ok(
          chunks.every((c) => c.choices.length > 0 && !('usage' in c)),
          JSON.stringify(chunks),
        );
        assert.equal(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''), 'Hello from the mock');
      });

      test('stream tool-call answer', async () => {
        mock.setAnswer(TOOL_ANSWER);
        const res = await postJson(url(), {
          model,
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
          tools: TOOLS,
          stream: true,
          stream_options: { include_usage: true },
        });
        const chunks = await readChunks(res.response, schemas);
        const calls = new Map<number, { id: string; name: string; args: string; type: string }>();
        for (const c of chunks) {
          for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
            const seen = calls.get(tc.index);
            if (!seen) {
              // The first delta of a call names it (OpenAI's contract the SDKs rely on).
              assert.ok(tc.id && tc.function?.name && tc.type === 'function', JSON.stringify(tc));
              calls.set(tc.index, {
                id: tc.id,
                name: tc.function.name,
                type: tc.type,
                args: tc.function.arguments ?? '',
              });
            } else {
              seen.args += tc.function?.arguments ?? '';
            }
          }
        }
        assert.equal(calls.size, 1);
        const call = calls.get(0);
        assert.equal(call?.name, 'get_weather');
        assert.deepEqual(JSON.parse(call?.args ?? ''), { city: 'Paris' });
        if (provider !== 'gemini') assert.equal(call?.id, 'call_1');
        const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
        assert.equal(text, '');
        const finishes = chunks
          .flatMap((c) => c.choices.map((ch) => ch.finish_reason))
          .filter((f) => f !== null);
        assert.deepEqual(finishes, ['tool_calls']);
        assert.deepEqual(usageOf(chunks.at(-1)?.usage), EXPECTED_USAGE);
      });

      test('upstream errors become OpenAI error bodies', async () => {
        mock.enqueue({ kind: 'status', status: 400, message: 'mock says no' });
        const bad = await postJson(url(), { model, messages: [{ role: 'user', content: 'x' }] });
        assert.equal(bad.status, 400);
        const badBody = (await bad.json()) as { error: { type: string; code: string } };
        assertSchema(schemas.error, badBody, `${provider} 400 error`);
        assert.equal(badBody.error.type, 'invalid_request_error');

        mock.enqueue({ kind: 'status', status: 401 });
        const auth = await postJson(url(), { model, messages: [{ role: 'user', content: 'x' }] });
        assert.equal(auth.status, 401);
        const authBody = (await auth.json()) as { error: { type: string } };
        assertSchema(schemas.error, authBody, `${provider} 401 error`);
        assert.equal(authBody.error.type, 'provider_authentication_error');
      });

      test('a stream cut off mid-answer ends with an error event and no [DONE]', async () => {
        // Cut after some content went out (Anthropic opens with message_start, content_block_start and a
        // ping; a cut before content is retried, which retry-fallback.test.ts covers).
        const afterFrames = { openai: 3, anthropic: 5, gemini: 2 }[
          provider as 'openai' | 'anthropic' | 'gemini'
        ];
        pacedMock.enqueue({ kind: 'disconnect', afterFrames });
        const res = await postJson(`${pacedGw.url}/v1/chat/completions`, {
          model,
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
        });
        assert.equal(res.status, 200);
        const events = await readSseData(res.response);
        assert.equal(pacedMock.requests.length, 1, 'not retried after the first chunk went out');
        assert.ok(!events.includes('[DONE]'), `no [DONE] after a failure: ${events.join(' | ')}`);
        assert.ok(events.length >= 2, 'some chunks, then the error event');
        const last = JSON.parse(events.at(-1) ?? 'null') as unknown;
        assertSchema(schemas.error, last, `${provider} mid-stream error event`);
        for (const data of events.slice(0, -1))
          assertSchema(schemas.chunk, JSON.parse(data), 'chunk before the error');
      });
    });
  }

  test('GET /v1/models', async () => {
    const res = await fetch(`${gw.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    assertSchema(schemas.models, body, 'models list');
    const ids = body.data.map((m) => m.id);
    for (const { model } of PROVIDERS) assert.ok(ids.includes(model), `${model} listed`);
  });

  test('gateway-side errors: bad JSON, schema violation, unknown model, unknown route', async () => {
    const cases: Array<[string, Promise<{ status: number; json: () => Promise<unknown> }>, number]> = [
      ['bad JSON', postJson(url(), '{"model": "gpt-4o",'), 400],
      ['schema violation', postJson(url(), { model: 'gpt-4o', messages: [], temperature: 5 }), 422],
      [
        'unknown model',
        postJson(url(), { model: 'nope-1', messages: [{ role: 'user', content: 'x' }] }),
        400,
      ],
      ['unknown route', postJson(`${gw.url}/v1/nothing-here`, {}), 404],
    ];
    for (const [what, pending, status] of cases) {
      const res = await pending;
      assert.equal(res.status, status, what);
      assertSchema(schemas.error, await res.json(), what);
    }
    assert.equal(mock.requests.length, 0, 'nothing malformed reached the upstream');
  });
});
