import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../../test/helpers/fake-clock.js';
import { chunk, completion, stageContext, usageChunk } from '../../../test/helpers/stage.js';
import type { CanonicalRequest } from '../../core/context.js';
import { completionResult } from '../../core/result.js';
import { keepRawText } from '../../providers/sse.js';
import type { ChatCompletionChunk, ChatRequest } from '../../providers/types.js';
import { createSchemaCompiler } from '../compile.js';
import { createChatCodec } from './codec.js';

const codec = createChatCodec(createSchemaCompiler());
const stream = codec.stream;
if (!stream) throw new Error('the chat codec streams');
const open = (r: CanonicalRequest) => stream.open(r, stageContext(fakeClock()));

function request(streamOptions?: ChatRequest['stream_options']): CanonicalRequest {
  const body = {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Hi' }],
    stream: true,
    ...(streamOptions ? { stream_options: streamOptions } : {}),
  } as ChatRequest;
  return { kind: 'chat', model: body.model, stream: true, body };
}

const ASKED = request({ include_usage: true });
const NOT_ASKED = request();
const USAGE = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };

/** A chunk as the OpenAI adapter yields it: parsed from `data`, with the text kept. */
function parsed(data: string): ChatCompletionChunk {
  const value = JSON.parse(data) as ChatCompletionChunk;
  keepRawText(value, data);
  return value;
}

/** The JSON of one written SSE event. */
function eventJson(event: string | null): Record<string, unknown> {
  assert.ok(event !== null, 'an event was written');
  assert.match(event, /^data: .*\n\n$/s);
  return JSON.parse(event.slice('data: '.length, -2)) as Record<string, unknown>;
}

// What an OpenAI-compatible upstream sends, byte for byte (spacing and key order are the upstream's own, so
// a re-serialised chunk would differ).
const CONTENT_RAW =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"caf\\u00e9"},"logprobs":null,"finish_reason":null}]}';
const CONTENT_WITH_NULL_USAGE_RAW =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"caf\\u00e9"},"finish_reason":null}],"usage":null}';
const USAGE_ONLY_RAW =
  '{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}}';

describe('chat codec: stream chunks', () => {
  test('a chunk parsed from upstream text is written as exactly those bytes', () => {
    const event = open(NOT_ASKED).chunk(parsed(CONTENT_RAW));
    assert.equal(event, `data: ${CONTENT_RAW}\n\n`);
    // Not re-serialised: JSON.stringify would have written "café", not the upstream's escape.
    assert.ok(event?.includes('caf\\u00e9'));
  });

  test('a chunk without upstream text (translated from another provider) is serialised', () => {
    const c = chunk('Hello');
    assert.equal(open(NOT_ASKED).chunk(c), `data: ${JSON.stringify(c)}\n\n`);
  });

  test('a copy of a parsed chunk is not mistaken for it (no stale bytes)', () => {
    const original = parsed(CONTENT_RAW);
    const copy = { ...original, model: 'renamed' };
    assert.equal(eventJson(open(NOT_ASKED).chunk(copy)).model, 'renamed');
  });

  test('client did not ask for usage: "usage":null is cut from the upstream bytes, the rest unchanged', () => {
    const event = open(NOT_ASKED).chunk(parsed(CONTENT_WITH_NULL_USAGE_RAW));
    assert.equal(event, `data: ${CONTENT_WITH_NULL_USAGE_RAW.replace(',"usage":null}', '}')}\n\n`);
    assert.ok(!event?.includes('usage'));
  });

  test('client did not ask: "usage": null written another way is still removed', () => {
    const raw = CONTENT_WITH_NULL_USAGE_RAW.replace('"usage":null}', '"usage": null }');
    const json = eventJson(open(NOT_ASKED).chunk(parsed(raw)));
    assert.ok(!('usage' in json));
    assert.deepEqual(json.choices, [{ index: 0, delta: { content: 'café' }, finish_reason: null }]);
  });

  test('client did not ask: "usage":null before another field (OpenAI’s obfuscation) is cut from the bytes', () => {
    const raw = CONTENT_WITH_NULL_USAGE_RAW.replace(
      '"usage":null}',
      '"usage":null,"obfuscation":"x\\"usage\\":null"}',
    );
    const event = open(NOT_ASKED).chunk(parsed(raw));
    assert.equal(event, `data: ${raw.replace(',"usage":null,', ',')}\n\n`);
    assert.equal(
      eventJson(event).obfuscation,
      'x"usage":null',
      'a string that looks like the field is untouched',
    );
    assert.ok(!('usage' in eventJson(event)));
  });

  test('client did not ask: the usage-only chunk is dropped (nothing written)', () => {
    assert.equal(open(NOT_ASKED).chunk(parsed(USAGE_ONLY_RAW)), null);
    assert.equal(open(NOT_ASKED).chunk(usageChunk(USAGE)), null);
  });

  test('client did not ask: usage attached to a content chunk is removed, the content is kept', () => {
    const c = chunk('bye', 'stop', { usage: USAGE });
    const json = eventJson(open(NOT_ASKED).chunk(c));
    assert.ok(!('usage' in json));
    assert.deepEqual(json.choices, c.choices);
  });

  test('stream_options.include_usage: false is the same as not asking', () => {
    assert.equal(open(request({ include_usage: false })).chunk(parsed(USAGE_ONLY_RAW)), null);
  });

  test('client asked for usage: the usage-only chunk and "usage":null pass through as sent', () => {
    assert.equal(open(ASKED).chunk(parsed(USAGE_ONLY_RAW)), `data: ${USAGE_ONLY_RAW}\n\n`);
    assert.equal(
      open(ASKED).chunk(parsed(CONTENT_WITH_NULL_USAGE_RAW)),
      `data: ${CONTENT_WITH_NULL_USAGE_RAW}\n\n`,
    );
    assert.deepEqual(eventJson(open(ASKED).chunk(usageChunk(USAGE))).usage, USAGE);
  });

  test('the stream ends with [DONE]; a failure is one data event with the error body', () => {
    assert.equal(open(ASKED).end(), 'data: [DONE]\n\n');
    const body = { error: { message: 'upstream died', type: 'provider_unavailable_error' } };
    assert.deepEqual(eventJson(open(ASKED).error(body)), body);
  });

  test('a whole answer is encoded as the completion itself', () => {
    const body = completion('hi');
    assert.equal(codec.encode(completionResult(body, 'upstream', null)), body);
  });
});

test('chat codec: tags are read from metadata and the header; metadata goes upstream only with store', () => {
  const codec = createChatCodec(createSchemaCompiler());
  const messages = [{ role: 'user', content: 'hi' }];
  const plain = codec.decode(
    JSON.stringify({ model: 'm', messages, metadata: { tags: ['a', 'b'], run: '1' } }),
    { 'x-gateway-tags': 'c' },
  );
  assert.deepEqual(plain.tags, ['a', 'b', 'c']);
  assert.equal('metadata' in plain.body, false);
  const stored = codec.decode(
    JSON.stringify({ model: 'm', messages, store: true, metadata: { tags: 'a', run: '1' } }),
  );
  // A string is OpenAI metadata as it stands: kept; the array form is the gateway's own and stays behind.
  assert.deepEqual(stored.body.metadata, { tags: 'a', run: '1' });
  assert.deepEqual(stored.tags, ['a']);
  const onlyTags = codec.decode(
    JSON.stringify({ model: 'm', messages, store: true, metadata: { tags: ['a'] } }),
  );
  assert.equal('metadata' in onlyTags.body, false);
});
