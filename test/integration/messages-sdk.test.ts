/**
 * The official Anthropic SDK against `POST /v1/messages` and `/v1/messages/count_tokens`, in front of the mock
 * upstream speaking Anthropic (native passthrough), OpenAI and Gemini (translation). Every Message and every
 * stream event is checked against Anthropic's published types and the event order (fixtures/anthropic-schemas).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import {
  assertErrorBody,
  assertEventSequence,
  assertMessage,
  parseSse,
} from '../fixtures/anthropic-schemas.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway, useGateway } from '../helpers/gateway.js';

const MODELS = {
  anthropic: 'claude-3-5-haiku-latest',
  openai: 'gpt-4o-mini',
  gemini: 'gemini-2.5-flash',
} as const;

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};
const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

describe('the Anthropic SDK against /v1/messages', () => {
  const t = useGateway();
  const client = () => new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key', maxRetries: 0 });

  /** POSTs a streaming request and returns the events as sent (to check the raw sequence). */
  async function rawStream(body: Record<string, unknown>): Promise<ReturnType<typeof parseSse>> {
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-api-key': 'gw-key',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({ max_tokens: 100, stream: true, ...body }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    return parseSse(await res.text());
  }

  for (const [kind, model] of Object.entries(MODELS)) {
    test(`${kind}: messages.create and messages.stream give valid Messages and events`, async () => {
      const message = await client().messages.create({
        model,
        max_tokens: 100,
        system: 'Be brief.',
        stop_sequences: ['END'],
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      assertMessage(message);
      assert.deepEqual(message.content, [{ type: 'text', text: 'Hello from the mock', citations: null }]);
      assert.equal(message.stop_reason, 'end_turn');
      assert.ok(message.usage.input_tokens > 0);
      assert.equal(message.usage.output_tokens, 4);

      const events = await rawStream({ model, messages: [{ role: 'user', content: 'Say hello' }] });
      assert.equal(assertEventSequence(events), 'complete');
      // Clients that track their context from message_start (Claude Code) need a prompt size there, also when
      // the upstream reports usage only at the end (translated streams carry an estimate).
      const started = events[0]?.data as unknown as { message: { usage: { input_tokens: number } } };
      assert.ok(started.message.usage.input_tokens > 0, JSON.stringify(started));
      const text = events
        .filter((e) => e.data.type === 'content_block_delta')
        .map((e) => (e.data.delta as { text: string }).text)
        .join('');
      assert.equal(text, 'Hello from the mock');

      const stream = client().messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Say hello' }],
      });
      const final = await stream.finalMessage();
      assertMessage(final);
      assert.equal(final.content[0]?.type === 'text' && final.content[0].text, 'Hello from the mock');
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.usage.output_tokens, 4);
    });

    test(`${kind}: a tool use round trip (create, stream, tool_result back)`, async () => {
      t.mock.setAnswer({
        text: '',
        toolCalls: [{ id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' }],
        finishReason: 'tool_calls',
      });
      const ask = { role: 'user' as const, content: 'Weather in Paris?' };
      const first = await client().messages.create({
        model,
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        tool_choice: { type: 'auto' },
        messages: [ask],
      });
      assertMessage(first);
      assert.equal(first.stop_reason, 'tool_use');
      const use = first.content.find((b) => b.type === 'tool_use');
      assert.ok(use && use.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.deepEqual(use.input, { city: 'Paris' });

      const events = await rawStream({ model, tools: [WEATHER_TOOL], messages: [ask] });
      assert.equal(assertEventSequence(events), 'complete');
      assert.ok(
        events.some((e) => (e.data.delta as { type?: string } | undefined)?.type === 'input_json_delta'),
      );
      const streamed = await client()
        .messages.stream({ model, max_tokens: 100, tools: [WEATHER_TOOL], messages: [ask] })
        .finalMessage();
      const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
      assert.deepEqual(streamedUse?.type === 'tool_use' && streamedUse.input, { city: 'Paris' });

      t.mock.setAnswer({ text: 'Sunny, 21 °C', toolCalls: [], finishReason: 'stop' });
      t.mock.reset();
      t.mock.setAnswer({ text: 'Sunny, 21 °C', toolCalls: [], finishReason: 'stop' });
      const second = await client().messages.create({
        model,
        max_tokens: 100,
        tools: [WEATHER_TOOL],
        messages: [
          ask,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny, 21' }] },
        ],
      });
      assertMessage(second);
      assert.equal(second.content[0]?.type === 'text' && second.content[0].text, 'Sunny, 21 °C');
      const sent = JSON.stringify(t.mock.requests[0]?.body);
      // The tool result reached the provider in its own dialect, tied to the call.
      if (kind === 'anthropic') assert.match(sent, /"type":"tool_result","tool_use_id":"toolu_01"/);
      if (kind === 'openai')
        assert.match(sent, /"role":"tool","tool_call_id":"toolu_01","content":"sunny, 21"/);
      if (kind === 'gemini') assert.match(sent, /"functionResponse":\{[^}]*"name":"get_weather"/);
    });

    test(`${kind}: images reach the provider`, async () => {
      const message = await client().messages.create({
        model,
        max_tokens: 100,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      });
      assertMessage(message);
      const sent = JSON.stringify(t.mock.requests.at(-1)?.body);
      if (kind === 'anthropic')
        assert.match(sent, /"type":"image","source":\{"type":"base64","media_type":"image\/png"/);
      if (kind === 'openai') assert.ok(sent.includes(`"url":"data:image/png;base64,${PNG}"`));
      if (kind === 'gemini') assert.ok(sent.includes(`"mimeType":"image/png","data":"${PNG}"`));
    });

    test(`${kind}: an upstream failure mid-stream ends with an error event, no message_stop`, async () => {
      t.mock.setAnswer({ chunks: ['Hello', ' from', ' the', ' mock', ' again', '.'] });
      t.mock.enqueue({ kind: 'disconnect', afterFrames: 5 });
      const events = await rawStream({ model, messages: [{ role: 'user', content: 'Say hello' }] });
      assert.equal(assertEventSequence(events), 'error');
      assert.ok(
        events.some((e) => e.data.type === 'content_block_delta'),
        'content was sent before the failure',
      );
      assert.ok(!events.some((e) => e.data.type === 'message_stop'));

      t.mock.enqueue({ kind: 'disconnect', afterFrames: 5 });
      const stream = client().messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'x' }],
      });
      await assert.rejects(stream.finalMessage(), (err: unknown) => err instanceof Anthropic.APIError);
    });

    test(`${kind}: count_tokens`, async () => {
      const res = await fetch(`${t.gw.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'gw-key' },
        body: JSON.stringify({ model, messages: [{ role: 'user', content: 'one two three' }] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { input_tokens: number };
      assert.deepEqual(Object.keys(body), ['input_tokens']);
      assert.ok(body.input_tokens > 0);
      // Anthropic deployments count with Anthropic's own endpoint; others locally.
      assert.equal(res.headers.get('x-token-count-source'), kind === 'anthropic' ? 'provider' : 'local');
      const counted = await client().messages.countTokens({
        model,
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.ok(counted.input_tokens > 0);
    });
  }

  test('anthropic: native passthrough keeps thinking, cache_control and beta headers; cache writes priced', async () => {
    t.mock.setAnswer({
      thinking: 'Let me think.',
      usage: { prompt: 3000, completion: 10, cached: 0, cacheWrite: 2000 },
    });
    const body = {
      model: MODELS.anthropic,
      max_tokens: 2000,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      system: [
        { type: 'text' as const, text: 'Long context', cache_control: { type: 'ephemeral' as const } },
      ],
      messages: [{ role: 'user' as const, content: 'Say hello' }],
    };
    const { data, response } = await client()
      .messages.create(body, { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14' } })
      .withResponse();
    assertMessage(data);
    assert.deepEqual(data.content[0], { type: 'thinking', thinking: 'Let me think.', signature: 'sig-mock' });
    assert.equal(data.usage.cache_creation_input_tokens, 2000);
    const upstream = t.mock.requests.at(-1);
    assert.ok(upstream);
    assert.equal(upstream.headers['anthropic-beta'], 'interleaved-thinking-2025-05-14');
    const sent = upstream.body as { thinking?: unknown; system?: unknown };
    assert.deepEqual(sent.thinking, body.thinking);
    assert.deepEqual(sent.system, body.system);
    // claude-3-5-haiku: 1000 input × $0.8 + 2000 written × $1.0 (1.25 × input) + 10 output × $4, per 1M.
    assert.equal(response.headers.get('x-cost'), ((800 + 2000 + 40) / 1e6).toFixed(6));

    const events = await rawStream({ ...body });
    assert.equal(assertEventSequence(events), 'complete');
    assert.ok(events.some((e) => (e.data.delta as { type?: string } | undefined)?.type === 'thinking_delta'));
    assert.ok(events.some((e) => e.data.type === 'ping'));
  });

  test('exact cache: a deterministic request is served from the cache as a valid Message and stream', async () => {
    for (const model of [MODELS.anthropic, MODELS.openai]) {
      const body = {
        model,
        max_tokens: 50,
        temperature: 0,
        messages: [{ role: 'user' as const, content: `cache me ${model}` }],
      };
      const first = await client().messages.create(body).withResponse();
      assert.equal(first.response.headers.get('x-cache-status'), 'MISS');
      const second = await client().messages.create(body).withResponse();
      assert.equal(second.response.headers.get('x-cache-status'), 'HIT');
      assertMessage(second.data);
      assert.deepEqual(second.data.content, first.data.content);
      const events = await rawStream(body);
      assert.equal(assertEventSequence(events), 'complete');
      // A different thinking budget is a different request (keyed on the Anthropic body).
      const other = await client()
        .messages.create({ ...body, top_k: 5 })
        .withResponse();
      assert.equal(other.response.headers.get('x-cache-status'), 'MISS');
    }
  });

  test('4xx errors have Anthropic’s shape and type', async () => {
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.openai, messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    assertErrorBody(body);
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /max_tokens/);

    await assert.rejects(
      client().messages.create({
        model: 'no-such-model',
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) =>
        err instanceof Anthropic.BadRequestError &&
        (err.error as { error?: { type?: string } }).error?.type === 'invalid_request_error',
    );
    const bad = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    assert.equal(bad.status, 400);
    assertErrorBody(await bad.json());
    // Not JSON at all (a cross-site form post): 415, in Anthropic's shape too.
    const form = await fetch(`${t.gw.url}/v1/messages`, { method: 'POST', body: 'x=1' });
    assert.equal(form.status, 415);
    assertErrorBody(await form.json());
    // A route the gateway does not serve under the Messages API (batches, a GET): 404 not_found_error.
    for (const [method, path] of [
      ['GET', '/v1/messages/batches'],
      ['POST', '/v1/messages/batches'],
      ['GET', '/v1/messages'],
    ]) {
      const missing = await fetch(`${t.gw.url}${path}`, { method, headers: { 'x-api-key': 'gw-key' } });
      assert.equal(missing.status, 404);
      const body = (await missing.json()) as { error: { type: string } };
      assertErrorBody(body);
      assert.equal(body.error.type, 'not_found_error');
    }
    await assert.rejects(
      client().messages.batches.retrieve('msgbatch_x'),
      (err: unknown) => err instanceof Anthropic.NotFoundError,
    );

    t.mock.enqueue(
      { kind: 'status', status: 429 },
      { kind: 'status', status: 429 },
      { kind: 'status', status: 429 },
    );
    t.mock.enqueue(
      { kind: 'status', status: 429 },
      { kind: 'status', status: 429 },
      { kind: 'status', status: 429 },
    );
    await assert.rejects(
      client().messages.create({
        model: MODELS.anthropic,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      (err: unknown) =>
        err instanceof Anthropic.RateLimitError &&
        (err.error as { error?: { type?: string } }).error?.type === 'rate_limit_error',
    );
  });
});

describe('the Messages endpoints with gateway keys', () => {
  const KEY = 'sk-gw-messages-key-0123456789';
  const t = useGateway({
    env: { AUTH_MODE: 'keys' },
    // A slow embedded database start must not turn an unknown key into a 503 here.
    yaml: `auth:
  mode: keys
  lookup_timeout_ms: 60000
  keys:
    - { name: agent, key_sha256: ${createHash('sha256').update(KEY).digest('hex')}, user_id: agent }
`,
  });

  test('the gateway key works as x-api-key (Anthropic SDK) and as a bearer token (Claude Code)', async () => {
    for (const options of [{ apiKey: KEY }, { apiKey: null, authToken: KEY }]) {
      const client = new Anthropic({ baseURL: t.gw.url, maxRetries: 0, ...options });
      const message = await client.messages.create({
        model: MODELS.openai,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      });
      assertMessage(message);
      const counted = await client.messages.countTokens({
        model: MODELS.openai,
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.ok(counted.input_tokens > 0);
    }
  });

  test('a wrong x-api-key or bearer token is a 401 authentication_error, also on count_tokens', async () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const credentials: Record<string, string>[] = [
        { 'x-api-key': 'wrong-key-0123456789' },
        { authorization: 'Bearer wrong-key-0123' },
      ];
      for (const headers of credentials) {
        const res = await fetch(`${t.gw.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({
            model: MODELS.openai,
            max_tokens: 5,
            messages: [{ role: 'user', content: 'x' }],
          }),
        });
        assert.equal(res.status, 401, path);
        const body = (await res.json()) as { error: { type: string } };
        assertErrorBody(body);
        assert.equal(body.error.type, 'authentication_error');
      }
    }
    const client = new Anthropic({ baseURL: t.gw.url, apiKey: 'wrong-key-0123456789', maxRetries: 0 });
    await assert.rejects(
      client.messages.create({
        model: MODELS.openai,
        max_tokens: 5,
        messages: [{ role: 'user', content: 'x' }],
      }),
      Anthropic.AuthenticationError,
    );
  });
});

describe('count_tokens when the provider hangs', () => {
  const t = useGateway({ env: { LLM_TIMEOUT: '0.3' } });

  test('the provider call times out (upstream.timeout_ms) and the count is made locally', async () => {
    t.mock.enqueue({ kind: 'hang' });
    const started = performance.now();
    const res = await fetch(`${t.gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODELS.anthropic, messages: [{ role: 'user', content: 'one two' }] }),
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-token-count-source'), 'local');
    assert.ok(((await res.json()) as { input_tokens: number }).input_tokens > 0);
    assert.ok(performance.now() - started < 5_000);
    // The hung upstream call was abandoned, not left open.
    const [hung] = t.mock.requests;
    await hung?.done;
    assert.equal(hung?.closedEarly, true);
  });
});

describe('Anthropic overloaded mid-stream (native passthrough)', () => {
  // An Anthropic upstream that starts a stream, then sends its overloaded_error event.
  let upstream: Server;
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    upstream = createServer((req, res) => {
      req.resume().on('end', () => {
        const ev = (data: Record<string, unknown>) =>
          `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
        const message = {
          id: 'msg_1',
          type: 'message',
          role: 'assistant',
          model: 'claude-haiku-4-5',
          content: [],
          stop_reason: null,
          stop_sequence: null,
        };
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(
          ev({
            type: 'message_start',
            message: { ...message, usage: { input_tokens: 3, output_tokens: 1 } },
          }) +
            ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
            ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } }) +
            ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
        );
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    mock = await MockUpstream.start();
    const port = (upstream.address() as { port: number }).port;
    gw = await startGateway({ mock, env: { ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}` } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  test('the stream ends with an overloaded_error event, as Anthropic sent it', async () => {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: MODELS.anthropic,
        max_tokens: 10,
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      }),
    });
    assert.equal(res.status, 200);
    const events = parseSse(await res.text());
    assert.equal(assertEventSequence(events), 'error');
    const last = events.at(-1)?.data as unknown as { error: { type: string } };
    assert.equal(last.error.type, 'overloaded_error');
  });
});
