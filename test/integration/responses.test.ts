/**
 * POST /v1/responses with the official `openai` SDK against the gateway in front of the mock upstream:
 * natively to OpenAI (the mock's /v1/responses) and translated to Anthropic and Gemini — text, tool-call
 * round trips through `previous_response_id`, images, streams (every event validated against OpenAI's
 * published schema, always ending with a final event), errors mid-stream, stored responses (retrieve,
 * input items, delete) and their scoping to the key that created them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadResponsesSchemas } from '../helpers/openai-schemas.js';

const KEY_A = 'sk-gw-responses-tenant-a-0123456789';
const KEY_B = 'sk-gw-responses-tenant-b-0123456789';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const MODELS = {
  openai: 'gpt-4o',
  anthropic: 'claude-3-5-haiku-latest',
  gemini: 'gemini-2.0-flash',
} as const;
const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: true,
};
const PIXEL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

describe('POST /v1/responses with the openai SDK', () => {
  const schemas = loadResponsesSchemas();
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  let other: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      yaml: `auth:\n  mode: keys\n  keys:\n    - { name: tenant-a, key_sha256: ${sha(KEY_A)}, user_id: a }\n    - { name: tenant-b, key_sha256: ${sha(KEY_B)}, user_id: b }\n`,
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
    other = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    mock.setAnswer({ usage: { prompt: 9, completion: 4, cached: 0 } });
  });

  const toolAnswer = () =>
    mock.setAnswer({
      text: '',
      chunks: [],
      toolCalls: [{ id: 'call_weather_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'tool_calls',
      usage: { prompt: 20, completion: 7, cached: 0 },
    });

  for (const [provider, model] of Object.entries(MODELS)) {
    test(`${provider}: text answer as a valid Response`, async () => {
      const response = await client.responses.create({
        model,
        instructions: 'Be brief.',
        input: 'Say hello',
        temperature: 0.2,
        max_output_tokens: 100,
        metadata: { run: 't1' },
      });
      assertSchema(schemas.response, response, `${provider} Response`);
      assert.match(response.id, /^resp_/);
      assert.equal(response.object, 'response');
      assert.equal(response.status, 'completed');
      assert.equal(response.output_text, 'Hello from the mock');
      assert.deepEqual(
        [response.usage?.input_tokens, response.usage?.output_tokens, response.usage?.total_tokens],
        [9, 4, 13],
      );
      const upstream = mock.requests[0];
      assert.equal(upstream?.dialect, provider === 'openai' ? 'openai' : provider);
      if (provider === 'openai') {
        // Native: the body as sent, only the model set.
        assert.equal(upstream?.path, '/v1/responses');
        const body = upstream?.body as Record<string, unknown>;
        assert.equal(body.input, 'Say hello');
        assert.equal(body.instructions, 'Be brief.');
        assert.equal(body.max_output_tokens, 100);
      } else {
        assert.equal(response.temperature, 0.2);
        assert.deepEqual(response.metadata, { run: 't1' });
      }
    });

    test(`${provider}: stream events are valid, numbered, and end with response.completed`, async () => {
      const stream = client.responses.stream({ model, input: 'Say hello' });
      const events: Array<{ type: string; sequence_number: number }> = [];
      for await (const event of stream) {
        assertSchema(schemas.event, event, `${provider} ${event.type}`);
        events.push(event);
      }
      const final = await stream.finalResponse();
      assertSchema(schemas.response, final, 'final response');
      assert.equal(final.output_text, 'Hello from the mock');
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      assert.deepEqual(types.slice(-5), [
        'response.output_text.delta',
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      assert.equal(final.usage?.total_tokens, 13);
    });

    test(`${provider}: tool call round trip through previous_response_id`, async () => {
      toolAnswer();
      const first = await client.responses.create({
        model,
        input: [{ role: 'user', content: 'Weather in Paris?' }],
        tools: [WEATHER_TOOL],
        tool_choice: 'auto',
      });
      assertSchema(schemas.response, first, 'tool call response');
      const call = first.output.find((i) => i.type === 'function_call');
      assert.ok(call && call.type === 'function_call');
      // Gemini has no call ids: the gateway makes one (and maps it back on the way in).
      if (provider !== 'gemini') assert.equal(call.call_id, 'call_weather_1');
      assert.equal(call.name, 'get_weather');
      assert.deepEqual(JSON.parse(call.arguments), { city: 'Paris' });

      mock.setAnswer({ text: 'It is sunny.', usage: { prompt: 30, completion: 4, cached: 0 } });
      const second = await client.responses.create({
        model,
        previous_response_id: first.id,
        input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"sky":"sunny"}' }],
        tools: [WEATHER_TOOL],
      });
      assertSchema(schemas.response, second, 'second response');
      assert.equal(second.output_text, 'It is sunny.');
      assert.equal(second.previous_response_id, first.id);
      const sent = JSON.stringify(mock.requests[1]?.body);
      if (provider === 'openai') {
        // The first response lives at OpenAI: only its id is forwarded.
        assert.equal(
          (mock.requests[1]?.body as { previous_response_id?: string } | undefined)?.previous_response_id,
          first.id,
        );
      } else {
        // Translated: the whole conversation is sent (question, the call, its result).
        assert.match(sent, /Weather in Paris\?/);
        if (provider !== 'gemini') assert.match(sent, /call_weather_1/);
        assert.match(sent, /get_weather/);
        assert.match(sent, /sunny/);
      }
    });
  }

  test('anthropic: an image input reaches the provider as an image block', async () => {
    const response = await client.responses.create({
      model: MODELS.anthropic,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'What is in this picture?' },
            { type: 'input_image', image_url: PIXEL, detail: 'auto' },
          ],
        },
      ],
    });
    assertSchema(schemas.response, response, 'image response');
    const body = mock.requests[0]?.body as { messages: Array<{ content: Array<{ type: string }> }> };
    assert.deepEqual(
      body.messages[0]?.content.map((b) => b.type),
      ['text', 'image'],
    );
  });

  test('gemini: an image input reaches the provider as inline data', async () => {
    await client.responses.create({
      model: MODELS.gemini,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Describe' },
            { type: 'input_image', image_url: PIXEL, detail: 'low' },
          ],
        },
      ],
    });
    assert.match(JSON.stringify(mock.requests[0]?.body), /"inline_?[dD]ata"/);
  });

  test('create({stream: true}) streams a tool call as function_call_arguments events', async () => {
    toolAnswer();
    const stream = await client.responses.create({
      model: MODELS.gemini,
      input: 'Weather in Paris?',
      tools: [WEATHER_TOOL],
      stream: true,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      assertSchema(schemas.event, event, event.type);
      events.push(event);
    }
    const done = events.find((e) => e.type === 'response.function_call_arguments.done');
    assert.ok(done && done.type === 'response.function_call_arguments.done');
    assert.deepEqual(JSON.parse(done.arguments), { city: 'Paris' });
    const last = events.at(-1);
    assert.equal(last?.type, 'response.completed');
    assert.ok(last?.type === 'response.completed');
    assert.equal(last.response.output[0]?.type, 'function_call');
  });

  for (const [provider, model] of Object.entries(MODELS)) {
    test(`${provider}: an upstream that dies mid-stream ends with response.failed`, async () => {
      mock.setAnswer({ chunks: ['one', ' two', ' three', ' four', ' five', ' six'] });
      mock.enqueue({ kind: 'disconnect', afterFrames: 5 });
      const stream = await client.responses.create({ model, input: 'Count', stream: true });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      try {
        for await (const event of stream) {
          assertSchema(schemas.event, event, event.type);
          events.push(event);
        }
      } catch {
        // the SDK may raise on response.failed; the events seen so far are what matters
      }
      const last = events.at(-1);
      assert.equal(last?.type, 'response.failed');
      assert.ok(last?.type === 'response.failed');
      assert.equal(last.response.status, 'failed');
      assert.ok(String(last.response.error?.message).length > 0);
      assert.equal(events.filter((e) => e.type === 'response.completed').length, 0);
    });
  }

  test('max_output_tokens hit: status incomplete with incomplete_details (json and stream)', async () => {
    mock.setAnswer({ finishReason: 'length' });
    const response = await client.responses.create({
      model: MODELS.anthropic,
      input: 'Long',
      max_output_tokens: 16,
    });
    assertSchema(schemas.response, response, 'incomplete response');
    assert.equal(response.status, 'incomplete');
    assert.deepEqual(response.incomplete_details, { reason: 'max_output_tokens' });
    const stream = await client.responses.create({ model: MODELS.anthropic, input: 'Long', stream: true });
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) last = event;
    assert.equal(last?.type, 'response.incomplete');
  });

  test('stored responses: retrieve, input_items, delete — and another key gets 404', async () => {
    const created = await client.responses.create({
      model: MODELS.anthropic,
      input: [
        { role: 'user', content: 'First question' },
        { role: 'user', content: [{ type: 'input_text', text: 'Second part' }] },
      ],
    });
    const fetched = await client.responses.retrieve(created.id);
    assertSchema(schemas.response, fetched, 'retrieved');
    assert.equal(fetched.id, created.id);
    assert.equal(fetched.output_text, 'Hello from the mock');

    const items = await client.responses.inputItems.list(created.id, { order: 'asc' });
    assert.equal(items.data.length, 2);
    const raw = await fetch(`${gw.url}/v1/responses/${created.id}/input_items`, {
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    assertSchema(schemas.itemList, await raw.json(), 'input items');
    const firstPage = await client.responses.inputItems.list(created.id, { order: 'asc', limit: 1 });
    assert.equal(firstPage.data.length, 1);
    assert.equal(firstPage.has_more, true);
    const next = await client.responses.inputItems.list(created.id, {
      order: 'asc',
      limit: 1,
      after: firstPage.data[0]?.id,
    });
    assert.match(JSON.stringify(next.data[0]), /Second part/);
    for (const limit of ['0', '101', 'abc']) {
      const bad = await fetch(`${gw.url}/v1/responses/${created.id}/input_items?limit=${limit}`, {
        headers: { authorization: `Bearer ${KEY_A}` },
      });
      assert.equal(bad.status, 422);
      const body = (await bad.json()) as { error: { message: string; param: string } };
      assert.deepEqual(
        [body.error.message, body.error.param],
        ['limit must be an integer from 1 to 100.', 'limit'],
      );
    }

    await assert.rejects(other.responses.retrieve(created.id), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      return true;
    });
    await assert.rejects(other.responses.delete(created.id), OpenAI.NotFoundError);
    // Nor can another key chain from it.
    await assert.rejects(
      other.responses.create({ model: MODELS.anthropic, input: 'go on', previous_response_id: created.id }),
      (err: unknown) => err instanceof OpenAI.BadRequestError,
    );

    // A client that sends `Content-Type: application/json` on every request, with no body (curl scripts,
    // some HTTP libraries): a bodiless DELETE, not a 400 invalid_json.
    const deleted = await fetch(`${gw.url}/v1/responses/${created.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
    });
    assert.equal(deleted.status, 200, await deleted.clone().text());
    assert.deepEqual(await deleted.json(), { id: created.id, object: 'response', deleted: true });
    await assert.rejects(client.responses.retrieve(created.id), OpenAI.NotFoundError);
  });

  test('store: false keeps nothing; chaining from it is refused', async () => {
    const created = await client.responses.create({ model: MODELS.gemini, input: 'Hi', store: false });
    assert.equal((created as unknown as { store: boolean }).store, false);
    await assert.rejects(client.responses.retrieve(created.id), OpenAI.NotFoundError);
  });

  test('a streamed response is stored with its output', async () => {
    const stream = client.responses.stream({ model: MODELS.gemini, input: 'Say hello' });
    for await (const _ of stream) {
      // drain
    }
    const final = await stream.finalResponse();
    const fetched = await waitFor(() => client.responses.retrieve(final.id));
    assert.equal(fetched.output_text, 'Hello from the mock');
    assert.equal(fetched.status, 'completed');
  });

  test('built-in tools: 400 naming the tool for a translated provider, passed through to OpenAI', async () => {
    await assert.rejects(
      client.responses.create({ model: MODELS.anthropic, input: 'news?', tools: [{ type: 'web_search' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.match(err.message, /web_search/);
        return true;
      },
    );
    assert.equal(mock.requests.length, 0);
    const response = await client.responses.create({
      model: MODELS.openai,
      input: 'news?',
      tools: [{ type: 'web_search' }],
    });
    assert.equal(response.status, 'completed');
    assert.deepEqual((mock.requests[0]?.body as { tools: unknown } | undefined)?.tools, [
      { type: 'web_search' },
    ]);
  });

  test("OpenAI's hosted `prompt`: 400 naming it for a translated provider, passed through to OpenAI", async () => {
    const prompt = { id: 'pmpt_abc123', version: '2', variables: { city: 'Lisbon' } };
    await assert.rejects(
      client.responses.create({ model: MODELS.anthropic, input: 'go', prompt }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.match(err.message, /prompt \(an OpenAI-hosted prompt/);
        return true;
      },
    );
    assert.equal(mock.requests.length, 0);
    const response = await client.responses.create({ model: MODELS.openai, input: 'go', prompt });
    assert.equal(response.status, 'completed');
    assert.deepEqual((mock.requests[0]?.body as { prompt: unknown } | undefined)?.prompt, prompt);
  });

  test("OpenAI's stored `conversation`: 400 naming it for a translated provider, passed through to OpenAI", async () => {
    await assert.rejects(
      client.responses.create({ model: MODELS.gemini, input: 'and then?', conversation: 'conv_123' }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.match(err.message, /conversation \(a conversation stored at OpenAI/);
        return true;
      },
    );
    assert.equal(mock.requests.length, 0, 'never answered without the conversation');
    const response = await client.responses.create({
      model: MODELS.openai,
      input: 'and then?',
      conversation: 'conv_123',
    });
    assert.equal(response.status, 'completed');
    assert.equal(
      (mock.requests[0]?.body as { conversation?: unknown } | undefined)?.conversation,
      'conv_123',
    );
  });

  test('input is optional: a hosted prompt, a conversation or a previous response stands without it', async () => {
    const prompt = { id: 'pmpt_abc123', version: '2', variables: { city: 'Lisbon' } };
    const byPrompt = await client.responses.create({ model: MODELS.openai, prompt });
    assert.equal(byPrompt.status, 'completed');
    const sent = mock.requests[0]?.body as Record<string, unknown> | undefined;
    assert.deepEqual(sent?.prompt, prompt);
    assert.equal('input' in (sent ?? {}), false, 'nothing invented for the missing input');
    // A translated provider cannot serve a hosted prompt, with or without input: 400 naming it.
    await assert.rejects(
      client.responses.create({ model: MODELS.anthropic, prompt }),
      (err: unknown) =>
        err instanceof OpenAI.BadRequestError && /prompt \(an OpenAI-hosted prompt/.test(err.message),
    );
    const byConversation = await client.responses.create({ model: MODELS.openai, conversation: 'conv_9' });
    assert.equal(byConversation.status, 'completed');
    // Chaining with no new input: the stored turns are the conversation.
    mock.reset();
    await client.responses.create({ model: MODELS.anthropic, previous_response_id: byPrompt.id });
    const chained = mock.requests[0]?.body as { messages: Array<{ role: string }> } | undefined;
    assert.deepEqual(
      chained?.messages.map((m) => m.role),
      ['assistant'],
      'the earlier answer, translated (the hosted prompt itself is only at OpenAI)',
    );
    // Neither input nor anything standing for it: a missing field, 422 naming it; nothing sent.
    mock.reset();
    await assert.rejects(
      client.responses.create({ model: MODELS.openai }),
      (err: unknown) =>
        err instanceof OpenAI.UnprocessableEntityError &&
        (err.error as { param?: string }).param === 'input' &&
        /input is required/.test(err.message),
    );
    assert.equal(mock.requests.length, 0);
  });

  test('openai: reasoning items come back natively and chain without translation', async () => {
    const first = await client.responses.create({
      model: MODELS.openai,
      input: 'Think',
      reasoning: { effort: 'low' },
    });
    assertSchema(schemas.response, first, 'reasoning response');
    assert.equal(first.output[0]?.type, 'reasoning');
    // The same conversation continued on Anthropic: the stored turns are translated, reasoning dropped.
    await client.responses.create({
      model: MODELS.anthropic,
      input: 'And then?',
      previous_response_id: first.id,
    });
    const body = mock.requests[1]?.body as { messages: Array<{ role: string }> };
    assert.deepEqual(
      body.messages.map((m) => m.role),
      ['user', 'assistant', 'user'],
    );
  });

  test('a schema violation is a 422 in OpenAI’s envelope', async () => {
    await assert.rejects(
      client.responses.create({ model: MODELS.openai, input: 'x', temperature: 5 }),
      (err: unknown) => err instanceof OpenAI.UnprocessableEntityError && /temperature/.test(err.message),
    );
  });
});

/** Retries a read until it succeeds (a streamed response is stored as the stream ends). */
async function waitFor<T>(read: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await read();
    } catch (err) {
      if (i >= 50) throw err;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
