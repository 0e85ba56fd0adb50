/**
 * The Vercel AI SDK (`ai` + `@ai-sdk/openai`, Chat Completions provider) drives the gateway unchanged by
 * setting `baseURL`: text, streams with usage, tool calls, and typed errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createOpenAI } from '@ai-sdk/openai';
import { APICallError, generateText, jsonSchema, streamText, tool } from 'ai';
import { useGateway } from '../helpers/gateway.js';

describe('the Vercel AI SDK against the gateway', () => {
  const t = useGateway();
  const provider = () => createOpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'unused' });

  for (const model of ['gpt-4o-mini', 'claude-3-5-haiku-latest', 'gemini-2.5-flash']) {
    test(`generateText and streamText through ${model}`, async () => {
      const text = await generateText({ model: provider().chat(model), prompt: 'Say hello', maxRetries: 0 });
      assert.equal(text.text, 'Hello from the mock');
      assert.equal(text.finishReason, 'stop');
      assert.ok((text.usage.inputTokens ?? 0) > 0);

      const stream = streamText({ model: provider().chat(model), prompt: 'Say hello', maxRetries: 0 });
      let joined = '';
      for await (const delta of stream.textStream) joined += delta;
      assert.equal(joined, 'Hello from the mock');
      assert.equal(await stream.finishReason, 'stop');
      assert.equal((await stream.usage).outputTokens, 4);
    });
  }

  test('tool calls come back as typed tool calls', async () => {
    t.mock.setAnswer({
      text: '',
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'tool_calls',
    });
    const result = await generateText({
      model: provider().chat('claude-3-5-haiku-latest'),
      prompt: 'Weather in Paris?',
      maxRetries: 0,
      tools: {
        get_weather: tool({
          description: 'Current weather',
          inputSchema: jsonSchema<{ city: string }>({
            type: 'object',
            properties: { city: { type: 'string' } },
            required: ['city'],
          }),
        }),
      },
    });
    assert.equal(result.finishReason, 'tool-calls');
    assert.equal(result.toolCalls[0]?.toolName, 'get_weather');
    assert.deepEqual(result.toolCalls[0]?.input, { city: 'Paris' });
  });

  test('gateway errors surface as APICallError with status and the OpenAI message', async () => {
    await assert.rejects(
      generateText({ model: provider().chat('no-such-model'), prompt: 'x', maxRetries: 0 }),
      (err: unknown) => {
        assert.ok(APICallError.isInstance(err), `got ${String(err)}`);
        assert.equal(err.statusCode, 400);
        assert.match(err.message, /does not exist or is not routable/);
        return true;
      },
    );
  });
});
