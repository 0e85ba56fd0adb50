// Thought signatures round-trip: Gemini answer → OpenAI tool call ids → the client's next request → Gemini.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Dispatcher } from 'undici';
import { sseItems } from '../sse.js';
import type { ChatCompletionChunk, ChatRequest } from '../types.js';
import { toGeminiRequest } from './request.js';
import { isGeminiResponse, toChatCompletion } from './response.js';
import { geminiChunks } from './stream.js';
import { thoughtSignatureOf } from './tool-call-id.js';

/** Unix seconds for `created`: a fixed time, never today's. */
const CREATED = 1_700_000_000;

type Message = ChatRequest['messages'][number];
type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };

const S1 = 'Vg1+RWvyZpP/EI5DHBG64p+KamURb/ItXJ2SI9Cn+0pLb+erAnYnsGTbVscQfw==';
const S2 = 'EeExnVDOgfP83VuYrKUw3pOhY9F/qGOgyNzecbx7hrbQwB4vi5psCg==';

function fixture(name: string): string {
  return readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
}

/** What a client such as the OpenAI SDK does with a stream: one assistant message from the deltas. */
async function assistantFromStream(raw: string): Promise<Message> {
  const body = Readable.from([Buffer.from(raw)]) as unknown as Dispatcher.ResponseData['body'];
  const chunks: ChatCompletionChunk[] = [];
  const translator = geminiChunks({ provider: 'gemini', model: 'm', created: CREATED });
  for await (const chunk of sseItems('gemini', body, new AbortController().signal, translator))
    chunks.push(chunk);
  let content = '';
  const calls: ToolCall[] = [];
  for (const delta of chunks.flatMap((c) => c.choices.map((ch) => ch.delta))) {
    content += delta.content ?? '';
    for (const call of delta.tool_calls ?? []) {
      calls[call.index] = {
        id: call.id ?? '',
        type: 'function',
        function: { name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' },
      };
    }
  }
  return { role: 'assistant', content: content === '' ? null : content, tool_calls: calls };
}

function assistantFromResponse(json: string): Message {
  const res: unknown = JSON.parse(json);
  assert.ok(isGeminiResponse(res));
  const message = toChatCompletion(res, 'm', CREATED).choices[0]?.message;
  assert.ok(message);
  return { role: 'assistant', content: message.content, tool_calls: message.tool_calls as ToolCall[] };
}

function callIds(message: Message): string[] {
  return message.role === 'assistant' ? (message.tool_calls ?? []).map((c) => c.id) : [];
}

test('Gemini 3 parallel calls (stream) then a sequential call (non-stream): signatures go back on their parts', async () => {
  const step1 = await assistantFromStream(fixture('gemini-3-parallel-calls.chunks.txt'));
  const [paris, oslo] = callIds(step1);
  assert.match(paris ?? '', /^call_[0-9a-f]{24}__thought__[A-Za-z0-9_-]+$/, 'an id Anthropic accepts');
  assert.equal(thoughtSignatureOf(paris ?? ''), S1);
  assert.match(oslo ?? '', /^call_[0-9a-f]{24}$/, 'only the first parallel call is signed');

  const step2 = assistantFromResponse(fixture('gemini-3-sequential-call.response.json'));
  const [book] = callIds(step2);
  assert.match(book ?? '', /^call_[0-9a-f]{24}__thought__[A-Za-z0-9_-]+$/, 'an id Anthropic accepts');
  assert.equal(thoughtSignatureOf(book ?? ''), S2);

  const body = toGeminiRequest({
    model: 'gemini-3-pro-preview',
    messages: [
      { role: 'user', content: 'Book a trip to the warmer of Paris and Oslo.' },
      step1,
      { role: 'tool', tool_call_id: paris ?? '', content: '{"temp_c":21}' },
      { role: 'tool', tool_call_id: oslo ?? '', content: '{"temp_c":9}' },
      step2,
      { role: 'tool', tool_call_id: book ?? '', content: '{"booked":true}' },
    ],
  } as ChatRequest);
  assert.deepStrictEqual(body, {
    contents: [
      { role: 'user', parts: [{ text: 'Book a trip to the warmer of Paris and Oslo.' }] },
      {
        role: 'model',
        parts: [
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: S1 },
          { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_weather', response: { temp_c: 21 } } },
          { functionResponse: { name: 'get_weather', response: { temp_c: 9 } } },
        ],
      },
      {
        role: 'model',
        parts: [
          { text: 'Paris is warmer.' },
          { functionCall: { name: 'book_trip', args: { city: 'Paris' } }, thoughtSignature: S2 },
        ],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'book_trip', response: { booked: true } } }] },
    ],
  });
});

test('Gemini 2.5 fixtures: the signed call keeps its signature, the unsigned one gets none', async () => {
  const fromJson = assistantFromResponse(fixture('function-call.response.json'));
  const fromStream = await assistantFromStream(fixture('function-call.chunks.txt'));
  const toolResults = (m: Message): Message[] =>
    callIds(m).map((id) => ({ role: 'tool', tool_call_id: id, content: 'ok' }));
  const modelParts = (m: Message) =>
    toGeminiRequest({
      model: 'gemini-2.5-flash',
      messages: [{ role: 'user', content: 'Go' }, m, ...toolResults(m)],
    } as ChatRequest).contents[1]?.parts;
  assert.deepStrictEqual(modelParts(fromJson), [
    {
      functionCall: { name: 'get_weather', args: { city: 'Paris', unit: 'celsius' } },
      thoughtSignature: 'CiQB0e2Kb7ZxYk3t9p2tq0kQ3b8aA1nQm2l0Zc5yWmQ9oO8Kq1EKYgHR7YpvYt5x',
    },
    { functionCall: { name: 'get_time', args: {} } },
  ]);
  assert.deepStrictEqual(modelParts(fromStream), [
    { text: 'Checking both cities.' },
    {
      functionCall: { name: 'get_weather', args: { city: 'Paris' } },
      // The fixture's signature lacks its padding; it comes back padded (the same bytes).
      thoughtSignature: 'CiQB0e2Kb2Uq0kQ3b8aA1nQm2l0Zc5yWmQ9oO8Kq1EKYgHR7YpvYt5x=',
    },
    { functionCall: { name: 'get_weather', args: { city: 'Oslo' } } },
  ]);
});

test('signatures on text parts and malformed (non-string) signatures do not leak into the answer', () => {
  const res = {
    candidates: [
      {
        content: {
          role: 'model',
          parts: [
            { text: 'Done.', thoughtSignature: S2 },
            { functionCall: { name: 'f', args: {} }, thoughtSignature: 123 },
          ],
        },
        finishReason: 'STOP',
      },
    ],
  };
  assert.ok(isGeminiResponse(res));
  const message = toChatCompletion(res, 'm', CREATED).choices[0]?.message;
  assert.equal(message?.content, 'Done.');
  assert.match(message?.tool_calls?.[0]?.id ?? '', /^call_[0-9a-f]{24}$/);
});
