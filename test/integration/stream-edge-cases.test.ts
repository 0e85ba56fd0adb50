/**
 * Streams from OpenAI-compatible servers that stray from OpenAI's own (decision 0207), through the real
 * gateway and the mock upstream on loopback, read with the official clients: tool calls without `index`,
 * streams without `data: [DONE]`, refusals. Every endpoint that translates or assembles them is checked:
 * /v1/chat/completions, /v1/messages and /v1/responses.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { assertEventSequence, parseSse } from '../fixtures/anthropic-schemas.js';
import { useGateway } from '../helpers/gateway.js';

/** An OpenAI-compatible provider that is not OpenAI: /v1/responses is translated, not passed through. */
const MODEL = 'groq/llama-3.1-8b-instant';
const TOOLS = [
  {
    name: 'get_weather',
    input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } },
  },
  { name: 'get_time', input_schema: { type: 'object' as const, properties: { tz: { type: 'string' } } } },
];
const CALLS = [
  { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { id: 'call_b', name: 'get_time', arguments: '{"tz":"UTC"}' },
];
const ask = [{ role: 'user' as const, content: 'Weather and time in Paris?' }];

describe('stream edge cases of OpenAI-compatible upstreams', () => {
  const t = useGateway((mock) => ({
    env: { GROQ_API_KEY: 'gsk-0123456789', GROQ_BASE_URL: `${mock.url}/openai/v1` },
  }));
  const anthropic = () => new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key', maxRetries: 0 });
  const openai = () => new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'gw-key', maxRetries: 0 });
  const chatTools = TOOLS.map((tool) => ({
    type: 'function' as const,
    function: { name: tool.name, parameters: tool.input_schema },
  }));

  test('tool calls streamed without index: one tool_use block per call on /v1/messages', async () => {
    t.mock.setAnswer({ text: '', toolCalls: CALLS, finishReason: 'tool_calls', omitToolCallIndex: true });
    const final = await anthropic()
      .messages.stream({ model: MODEL, max_tokens: 100, tools: TOOLS, messages: ask })
      .finalMessage();
    assert.deepEqual(
      final.content.map((b) => (b.type === 'tool_use' ? [b.id, b.name, b.input] : b.type)),
      [
        ['call_a', 'get_weather', { city: 'Paris' }],
        ['call_b', 'get_time', { tz: 'UTC' }],
      ],
    );
    assert.equal(final.stop_reason, 'tool_use');
  });

  test('tool calls streamed without index: two calls on /v1/chat/completions, each with its index', async () => {
    t.mock.setAnswer({ text: '', toolCalls: CALLS, finishReason: 'tool_calls', omitToolCallIndex: true });
    const stream = openai().chat.completions.stream({
      model: MODEL,
      tools: chatTools,
      messages: ask,
    });
    const indexes: number[] = [];
    stream.on('chunk', (chunk) => {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) indexes.push(call.index);
    });
    const final = await stream.finalChatCompletion();
    assert.deepEqual(indexes, [0, 0, 1, 1], 'the chunks follow OpenAI’s schema: every delta has its index');
    assert.deepEqual(
      final.choices[0]?.message.tool_calls?.map((c) =>
        c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : c.type,
      ),
      CALLS.map((c) => [c.id, c.name, c.arguments]),
    );
  });

  test('tool calls streamed without index: two function_call items on /v1/responses', async () => {
    t.mock.setAnswer({ text: '', toolCalls: CALLS, finishReason: 'tool_calls', omitToolCallIndex: true });
    const final = await openai()
      .responses.stream({
        model: MODEL,
        input: 'Weather and time in Paris?',
        store: false,
        tools: TOOLS.map((tool) => ({
          type: 'function' as const,
          name: tool.name,
          parameters: tool.input_schema,
          strict: false,
        })),
      })
      .finalResponse();
    assert.deepEqual(
      final.output.map((item) =>
        item.type === 'function_call' ? [item.call_id, item.name, item.arguments] : item.type,
      ),
      CALLS.map((c) => [c.id, c.name, c.arguments]),
    );
  });

  test('a non-streamed tool-call answer is unaffected: two tool_use blocks', async () => {
    t.mock.setAnswer({ text: '', toolCalls: CALLS, finishReason: 'tool_calls', omitToolCallIndex: true });
    const message = await anthropic().messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: TOOLS,
      messages: ask,
    });
    assert.deepEqual(
      message.content.map((b) => (b.type === 'tool_use' ? [b.id, b.input] : b.type)),
      [
        ['call_a', { city: 'Paris' }],
        ['call_b', { tz: 'UTC' }],
      ],
    );
  });

  test('a stream that finished without [DONE] is complete on every endpoint', async () => {
    t.mock.setAnswer({ omitDone: true });
    const raw = await fetch(`${t.gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer gw-key' },
      body: JSON.stringify({ model: MODEL, stream: true, messages: ask }),
    });
    const body = await raw.text();
    assert.doesNotMatch(body, /"error"/);
    assert.match(body, /data: \[DONE\]\n\n$/, 'the client still gets OpenAI’s end marker');

    const chat = await openai()
      .chat.completions.stream({ model: MODEL, messages: ask })
      .finalChatCompletion();
    assert.equal(chat.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(chat.choices[0]?.finish_reason, 'stop');

    const message = await anthropic()
      .messages.stream({ model: MODEL, max_tokens: 100, messages: ask })
      .finalMessage();
    assert.equal(message.stop_reason, 'end_turn');
    assert.equal(message.usage.output_tokens, 4, 'the usage chunk before the end counts');

    const response = await openai()
      .responses.stream({ model: MODEL, input: 'Say hello', store: false })
      .finalResponse();
    assert.equal(response.status, 'completed');
    assert.equal(response.output_text, 'Hello from the mock');
  });

  test('a stream cut off before its finish_reason still ends in an error, on /v1/messages too', async () => {
    // The body ends cleanly after some content, without finish_reason, usage or [DONE].
    t.mock.enqueue({ kind: 'end-early', afterFrames: 3 });
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'gw-key' },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: ask }),
    });
    const events = parseSse(await res.text());
    assert.equal(assertEventSequence(events), 'error');
  });

  const REFUSAL = 'I cannot help with that.';

  test('a refusal on /v1/messages is a text block with stop_reason refusal (non-stream and stream)', async () => {
    t.mock.setAnswer({ text: '', chunks: [], refusal: REFUSAL });
    const message = await anthropic().messages.create({ model: MODEL, max_tokens: 100, messages: ask });
    assert.deepEqual(message.content, [{ type: 'text', text: REFUSAL, citations: null }]);
    assert.equal(message.stop_reason, 'refusal');

    const streamed = await anthropic()
      .messages.stream({ model: MODEL, max_tokens: 100, messages: ask })
      .finalMessage();
    assert.deepEqual(
      streamed.content.map((b) => (b.type === 'text' ? b.text : b.type)),
      [REFUSAL],
    );
    assert.equal(streamed.stop_reason, 'refusal');
  });

  test('a refusal on /v1/responses is a message with a refusal part (non-stream and stream)', async () => {
    t.mock.setAnswer({ text: '', chunks: [], refusal: REFUSAL });
    const parts = (r: OpenAI.Responses.Response) =>
      r.output.flatMap((item) =>
        item.type === 'message'
          ? item.content.map((p) => (p.type === 'refusal' ? ['refusal', p.refusal] : [p.type, p.text]))
          : [],
      );
    const response = await openai().responses.create({ model: MODEL, input: 'Help?', store: false });
    assert.deepEqual(parts(response), [['refusal', REFUSAL]]);
    assert.equal(response.status, 'completed');

    const stream = openai().responses.stream({ model: MODEL, input: 'Help?', store: false });
    const deltas: string[] = [];
    stream.on('response.refusal.delta', (e) => deltas.push(e.delta));
    const final = await stream.finalResponse();
    assert.equal(deltas.join(''), REFUSAL);
    assert.deepEqual(parts(final), [['refusal', REFUSAL]]);
  });
});

describe('a client that leaves an Anthropic passthrough stream', () => {
  // Slow frames: the client leaves while the answer streams, long before message_delta's final usage.
  const t = useGateway(
    { env: { USAGE_ENABLED: 'true', USAGE_FLUSH_INTERVAL_MS: '20' } },
    { frameIntervalMs: 40, chunkCount: 40 },
  );

  test('is billed on the input message_start reported, cache reads included; the output estimated', async () => {
    // 1,500 input tokens, 500 of them cache reads: far from the prompt's estimate (a few tokens).
    t.mock.setAnswer({ usage: { prompt: 1500, completion: 40, cached: 500 } });
    await t.gw.gateway.stores.database().ready;
    const controller = new AbortController();
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'gw-key', 'x-request-id': 'leave-1' },
      body: JSON.stringify({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 100,
        stream: true,
        messages: ask,
      }),
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes('text_delta')) seen += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    await reader.read().catch(() => undefined);

    const db = t.gw.gateway.stores.database().db;
    let row: Record<string, unknown> | undefined;
    for (let i = 0; i < 500 && !row; i++) {
      row = await db
        .selectFrom('usage_records')
        .selectAll()
        .where('client_request_id', '=', 'leave-1')
        .executeTakeFirst();
      if (!row) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(row, 'a usage record was written');
    const r = row;
    assert.deepEqual(
      [r.status, r.http_status, r.estimated, Number(r.input_tokens), Number(r.cached_input_tokens)],
      ['incomplete', 499, true, 1500, 500],
    );
    assert.ok(Number(r.output_tokens) < 40, 'only what streamed before the client left');
  });
});
