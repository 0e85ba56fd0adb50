import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BadRequestError, InvalidRequestError } from '../../core/errors.js';
import { clientParam, inClientTerms } from './client-param.js';
import { toChatRequest } from './translate-request.js';

const PIXEL = 'data:image/png;base64,AAAA';

/** A conversation with every kind of item, after two stored items (previous_response_id). */
function translated() {
  return toChatRequest(
    {
      model: 'm',
      instructions: 'Be brief.',
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'Look' },
            { type: 'input_image', image_url: PIXEL },
          ],
        },
        { role: 'assistant', content: 'Taking screenshots.' },
        { type: 'function_call', call_id: 'call_a', name: 'shot', arguments: '{}' },
        { type: 'reasoning', summary: [] },
        { type: 'function_call', call_id: 'call_b', name: 'shot', arguments: '{}' },
        {
          type: 'function_call_output',
          call_id: 'call_a',
          output: [{ type: 'input_image', image_url: PIXEL }],
        },
        {
          type: 'function_call_output',
          call_id: 'call_b',
          output: [
            { type: 'input_text', text: 'two' },
            { type: 'input_file', file_data: 'data:application/pdf;base64,AAAA', filename: 'b.pdf' },
          ],
        },
      ],
    },
    [
      { type: 'message', role: 'user', content: 'Earlier question' },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Earlier answer' }] },
    ],
  );
}

test('the chat messages of a tool turn: tool messages, then the outputs’ media as one user message', () => {
  const { chat, origins, nativeOnly } = translated();
  assert.deepEqual(nativeOnly, []);
  assert.deepEqual(
    chat.messages.map((m) => m.role),
    ['system', 'user', 'assistant', 'user', 'assistant', 'tool', 'tool', 'user'],
  );
  assert.deepEqual(chat.messages.at(-1), {
    role: 'user',
    content: [
      { type: 'image_url', image_url: { url: PIXEL, detail: 'auto' } },
      { type: 'file', file: { file_data: 'data:application/pdf;base64,AAAA', filename: 'b.pdf' } },
    ],
  });
  assert.equal(origins.length, chat.messages.length);
});

test('canonical chat fields map back to the Responses fields the client sent', () => {
  const { origins } = translated();
  const cases: Array<[string, string]> = [
    ['messages[0].content', 'instructions'],
    ['messages[1].content', 'previous_response_id'],
    ['messages[2].content', 'previous_response_id'],
    ['messages[3].content[1].image_url.url', 'input[0].content[1].image_url'],
    ['messages[3].role', 'input[0].role'],
    ['messages[4].content', 'input[1].content'],
    ['messages[4].tool_calls[0].function.arguments', 'input[2].arguments'],
    ['messages[4].tool_calls[1].id', 'input[4].call_id'],
    ['messages[4].tool_calls[1].function.name', 'input[4].name'],
    ['messages[4].tool_calls[1]', 'input[4]'],
    ['messages[5].tool_call_id', 'input[5].call_id'],
    ['messages[6].content', 'input[6].output'],
    ['messages[7].content[0].image_url.url', 'input[5].output[0].image_url'],
    ['messages[7].content[1].file.file_data', 'input[6].output[1].file_data'],
    ['messages[7].content[1].file', 'input[6].output[1]'],
    ['messages[7].content', 'input[5]'],
    ['messages[99].content', 'input'],
    ['messages', 'input'],
    ['tools[1].function.parameters', 'tools[1].parameters'],
    ['tools[1].function', 'tools[1]'],
    ['max_completion_tokens', 'max_output_tokens'],
    ['response_format', 'text.format'],
    ['model', 'model'],
    ['input[2].output[0]', 'input[2].output[0]'],
  ];
  for (const [canonical, client] of cases) assert.equal(clientParam(canonical, origins), client, canonical);
});

test('a call merged into a stored assistant turn names its own input item', () => {
  const { origins } = toChatRequest(
    { model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: '{' }] },
    [{ type: 'message', role: 'assistant', content: 'Calling f.' }],
  );
  assert.equal(clientParam('messages[0].tool_calls[0].function.arguments', origins), 'input[0].arguments');
  assert.equal(clientParam('messages[0].content', origins), 'previous_response_id');
});

test('inClientTerms: a copy naming the client field, the same error class; other errors unchanged', () => {
  const { origins } = translated();
  const err = new InvalidRequestError('bad image', 'compat', {
    param: 'messages[3].content[1]',
    upstreamStatus: 400,
  });
  const mapped = inClientTerms(err, origins) as InvalidRequestError;
  assert.ok(mapped instanceof InvalidRequestError);
  assert.equal(mapped.param, 'input[0].content[1]');
  assert.equal(mapped.message, 'bad image');
  assert.equal(mapped.provider, 'compat');
  assert.equal(mapped.status, 400);
  assert.equal(err.param, 'messages[3].content[1]');
  const own = new BadRequestError('x', 'invalid_request', { param: 'input[0].role' });
  assert.equal(inClientTerms(own, origins), own);
  const plain = new Error('boom');
  assert.equal(inClientTerms(plain, origins), plain);
});
