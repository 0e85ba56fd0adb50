/**
 * POST /v1/responses translated to Anthropic, Gemini and an OpenAI-compatible server, with the `openai` SDK
 * against the gateway in front of the mock upstream: function outputs holding images and files (a
 * screenshot tool's turn), function calls without arguments from a compatible server, and errors about the
 * translated request naming the client's Responses field (audit J F2, F3, F4).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadResponsesSchemas } from '../helpers/openai-schemas.js';

const PIXEL_DATA =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const PIXEL = `data:image/png;base64,${PIXEL_DATA}`;
const PDF_DATA = 'JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK';
const SCREENSHOT_TOOL = {
  type: 'function' as const,
  name: 'screenshot',
  description: 'Takes a screenshot of the page',
  parameters: { type: 'object', properties: {} },
  strict: false,
};
const MODELS = {
  anthropic: 'claude-3-5-haiku-latest',
  gemini: 'gemini-2.0-flash',
  compat: 'compat/llama-3',
} as const;

/** The agent's turn: the user's question, the model's screenshot call, and the call's output. */
function screenshotTurn(output: ResponseInputItem.FunctionCallOutput['output']): ResponseInputItem[] {
  return [
    { role: 'user', content: 'What does the page show?' },
    { type: 'function_call', call_id: 'call_shot_1', name: 'screenshot', arguments: '{}' },
    { type: 'function_call_output', call_id: 'call_shot_1', output },
  ];
}

type Json = Record<string, unknown>;
const asJson = (value: unknown) => value as Json;

describe('POST /v1/responses translated: tool outputs, empty arguments, error fields', () => {
  const schemas = loadResponsesSchemas();
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { COMPAT_KEY: 'compat-0123456789' },
      yaml: `
providers:
  compat:
    type: openai
    base_url: ${mock.url}/compat/v1
    api_key_env: COMPAT_KEY
    models: [llama-3]
`,
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    mock.setAnswer({ text: 'A login form.', usage: { prompt: 9, completion: 4, cached: 0 } });
  });

  const sent = () => asJson(mock.requests[0]?.body);

  describe('a function_call_output holding an image (F2)', () => {
    const output = [
      { type: 'input_text' as const, text: 'Screenshot taken.' },
      { type: 'input_image' as const, image_url: PIXEL, detail: 'auto' as const },
    ];

    test('anthropic: the text is the tool_result, the image follows it in the same user turn', async () => {
      const response = await client.responses.create({
        model: MODELS.anthropic,
        input: screenshotTurn(output),
        tools: [SCREENSHOT_TOOL],
      });
      assertSchema(schemas.response, response, 'Response');
      assert.equal(response.output_text, 'A login form.');
      const messages = sent().messages as Array<{ role: string; content: Json[] }>;
      assert.deepEqual(
        messages.map((m) => m.role),
        ['user', 'assistant', 'user'],
      );
      assert.deepEqual(messages[2]?.content, [
        { type: 'tool_result', tool_use_id: 'call_shot_1', content: 'Screenshot taken.' },
        { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PIXEL_DATA } },
      ]);
    });

    test('gemini: the functionResponse, then the image as inline data in the same user turn', async () => {
      const response = await client.responses.create({
        model: MODELS.gemini,
        input: screenshotTurn(output),
        tools: [SCREENSHOT_TOOL],
      });
      assert.equal(response.output_text, 'A login form.');
      const contents = sent().contents as Array<{ role: string; parts: Json[] }>;
      assert.deepEqual(
        contents.map((c) => c.role),
        ['user', 'model', 'user'],
      );
      assert.deepEqual(contents[2]?.parts, [
        { functionResponse: { name: 'screenshot', response: { content: 'Screenshot taken.' } } },
        { inlineData: { mimeType: 'image/png', data: PIXEL_DATA } },
      ]);
    });

    test('OpenAI-compatible: the tool message, then a user message with the image', async () => {
      const response = await client.responses.create({
        model: MODELS.compat,
        input: screenshotTurn(output),
        tools: [SCREENSHOT_TOOL],
      });
      assert.equal(response.output_text, 'A login form.');
      assert.equal(mock.requests[0]?.path, '/compat/v1/chat/completions');
      const messages = sent().messages as Json[];
      assert.deepEqual(messages.slice(2), [
        { role: 'tool', tool_call_id: 'call_shot_1', content: 'Screenshot taken.' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: PIXEL, detail: 'auto' } }] },
      ]);
    });

    test('parallel outputs: every tool message first, then one user message with all their images', async () => {
      await client.responses.create({
        model: MODELS.compat,
        input: [
          { role: 'user', content: 'Compare both tabs.' },
          { type: 'function_call', call_id: 'call_a', name: 'screenshot', arguments: '' },
          { type: 'function_call', call_id: 'call_b', name: 'screenshot', arguments: '' },
          {
            type: 'function_call_output',
            call_id: 'call_a',
            output: [{ type: 'input_image', image_url: PIXEL }],
          },
          {
            type: 'function_call_output',
            call_id: 'call_b',
            output: [{ type: 'input_image', image_url: PIXEL }],
          },
          { role: 'user', content: 'Which one is newer?' },
        ],
        tools: [SCREENSHOT_TOOL],
      });
      const messages = sent().messages as Array<{ role: string; content: unknown }>;
      assert.deepEqual(
        messages.map((m) => m.role),
        ['user', 'assistant', 'tool', 'tool', 'user', 'user'],
      );
      assert.deepEqual(
        (messages[4]?.content as Json[] | undefined)?.map((p) => p.type),
        ['image_url', 'image_url'],
      );
    });

    test('an inline PDF (input_file with file_data) reaches Anthropic as a document block', async () => {
      await client.responses.create({
        model: MODELS.anthropic,
        input: screenshotTurn([
          {
            type: 'input_file',
            filename: 'report.pdf',
            file_data: `data:application/pdf;base64,${PDF_DATA}`,
          },
        ]),
        tools: [SCREENSHOT_TOOL],
      });
      const messages = sent().messages as Array<{ content: Json[] }>;
      assert.deepEqual(messages[2]?.content, [
        { type: 'tool_result', tool_use_id: 'call_shot_1', content: '' },
        {
          type: 'document',
          source: { type: 'base64', media_type: 'application/pdf', data: PDF_DATA },
          title: 'report.pdf',
        },
      ]);
    });

    test('an image stored at OpenAI (file_id): 400 naming the part, with advice that fits a function output', async () => {
      await assert.rejects(
        client.responses.create({
          model: MODELS.anthropic,
          input: screenshotTurn([{ type: 'input_image', file_id: 'file-abc', detail: 'auto' }]),
        }),
        (err: unknown) => {
          assert.ok(err instanceof OpenAI.BadRequestError);
          assert.equal(err.param, 'input[2].output[0]');
          assert.equal(err.code, 'unsupported_parameter');
          assert.match(err.message, /input_image by file_id/);
          assert.match(err.message, /data: URL/);
          assert.doesNotMatch(err.message, /function tools/);
          return true;
        },
      );
      assert.equal(mock.requests.length, 0);
    });
  });

  describe('a function call without arguments from an OpenAI-compatible server (F3)', () => {
    const noArgs = (args: string) =>
      mock.setAnswer({
        text: '',
        chunks: [],
        toolCalls: [{ id: 'call_now', name: 'now', arguments: args }],
        finishReason: 'tool_calls',
        usage: { prompt: 9, completion: 4, cached: 0 },
      });
    const NOW_TOOL = { type: 'function' as const, name: 'now', parameters: null, strict: false };

    test('JSON: the function_call item has arguments "{}"', async () => {
      noArgs('');
      const response = await client.responses.create({
        model: MODELS.compat,
        input: 'Time?',
        tools: [NOW_TOOL],
      });
      assertSchema(schemas.response, response, 'Response');
      const call = response.output.find((i) => i.type === 'function_call');
      assert.ok(call?.type === 'function_call');
      assert.equal(call.arguments, '{}');
      assert.deepEqual(JSON.parse(call.arguments), {});
    });

    test('stream: the deltas add up to "{}", as do .done, the item and the final response', async () => {
      noArgs('');
      const stream = client.responses.stream({ model: MODELS.compat, input: 'Time?', tools: [NOW_TOOL] });
      const events: OpenAI.Responses.ResponseStreamEvent[] = [];
      for await (const event of stream) {
        assertSchema(schemas.event, event, event.type);
        events.push(event);
      }
      const deltas = events.flatMap((e) =>
        e.type === 'response.function_call_arguments.delta' ? [e.delta] : [],
      );
      assert.equal(deltas.join(''), '{}');
      const done = events.find((e) => e.type === 'response.function_call_arguments.done');
      assert.ok(done?.type === 'response.function_call_arguments.done');
      assert.equal(done.arguments, '{}');
      const itemDone = events.find((e) => e.type === 'response.output_item.done');
      assert.ok(itemDone?.type === 'response.output_item.done' && itemDone.item.type === 'function_call');
      assert.equal(itemDone.item.arguments, '{}');
      const final = await stream.finalResponse();
      const call = final.output.find((i) => i.type === 'function_call');
      assert.ok(call?.type === 'function_call');
      assert.equal(call.arguments, '{}');
    });

    test('arguments that are sent are kept as sent', async () => {
      noArgs('{"tz":"CET"}');
      const response = await client.responses.create({
        model: MODELS.compat,
        input: 'Time?',
        tools: [NOW_TOOL],
      });
      const call = response.output.find((i) => i.type === 'function_call');
      assert.ok(call?.type === 'function_call');
      assert.equal(call.arguments, '{"tz":"CET"}');
    });
  });

  describe("errors about the translated request name the client's field (F4)", () => {
    const rejectsWithParam = async (
      body: OpenAI.Responses.ResponseCreateParamsNonStreaming,
      param: string,
    ) => {
      await assert.rejects(client.responses.create(body), (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError, String(err));
        assert.equal(err.param, param);
        return true;
      });
      assert.equal(mock.requests.length, 0);
    };

    test('gemini: an output for a call it never saw names input[0].call_id', async () => {
      await rejectsWithParam(
        {
          model: MODELS.gemini,
          input: [{ type: 'function_call_output', call_id: 'call_unknown', output: 'x' }],
        },
        'input[0].call_id',
      );
    });

    test('gemini: the same in a stream, before any event', async () => {
      await assert.rejects(
        client.responses.create({
          model: MODELS.gemini,
          input: [
            { role: 'user', content: 'hi' },
            { type: 'function_call_output', call_id: 'call_unknown', output: 'x' },
          ],
          stream: true,
        }),
        (err: unknown) => err instanceof OpenAI.BadRequestError && err.param === 'input[1].call_id',
      );
    });

    test('anthropic: arguments that are not JSON name the function_call item', async () => {
      await rejectsWithParam(
        {
          model: MODELS.anthropic,
          input: [
            { role: 'user', content: 'Weather?' },
            { type: 'function_call', call_id: 'call_1', name: 'a', arguments: '{}' },
            { type: 'function_call', call_id: 'call_2', name: 'b', arguments: 'not json' },
            { type: 'function_call_output', call_id: 'call_1', output: 'ok' },
            { type: 'function_call_output', call_id: 'call_2', output: 'ok' },
          ],
        },
        'input[2].arguments',
      );
    });

    test("anthropic: an image type it cannot take in a function output names the output's part", async () => {
      await rejectsWithParam(
        {
          model: MODELS.anthropic,
          input: screenshotTurn([
            { type: 'input_text', text: 'Screenshot taken.' },
            { type: 'input_image', image_url: `data:image/bmp;base64,${PIXEL_DATA}`, detail: 'auto' },
          ]),
        },
        'input[2].output[1].image_url',
      );
    });

    test('anthropic: a user image it cannot take names the message part', async () => {
      await rejectsWithParam(
        {
          model: MODELS.anthropic,
          instructions: 'Be brief.',
          input: [
            {
              role: 'user',
              content: [
                { type: 'input_text', text: 'What is this?' },
                { type: 'input_image', image_url: 'ftp://example.com/a.png', detail: 'auto' },
              ],
            },
          ],
        },
        'input[0].content[1].image_url',
      );
    });
  });
});
