import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import type { EndpointCodec } from '../core/endpoint.js';
import { ValidationError } from '../core/errors.js';
import { createChatCodec } from './chat/codec.js';
import { createSchemaCompiler } from './compile.js';
import { createCompletionsCodec } from './completions/codec.js';
import { createEmbeddingsCodec } from './embeddings/codec.js';
import { createMessagesCodec } from './messages/codec.js';
import { createPromptCompletionsCodec } from './prompts/codec.js';
import { createResponsesCodec } from './responses/codec.js';
import { WARM_UP_EXAMPLES, warmCodecs } from './warm-up.js';

function gatewayCodecs(): EndpointCodec[] {
  const compile = createSchemaCompiler();
  return [
    createChatCodec(compile),
    createCompletionsCodec(compile),
    createEmbeddingsCodec(compile),
    createMessagesCodec(compile),
    createResponsesCodec(compile, fakeClock()),
    createPromptCompletionsCodec(compile),
  ];
}

test('every example body decodes with the codecs the gateway serves (a failing one would warm nothing)', () => {
  const warnings: object[] = [];
  const codecs = gatewayCodecs();
  const done = warmCodecs(codecs, { warn: (obj) => warnings.push(obj) });
  const expected = codecs.reduce((n, c) => n + WARM_UP_EXAMPLES[c.name].length, 0);
  assert.ok(
    codecs.every((c) => WARM_UP_EXAMPLES[c.name].length > 0),
    'every endpoint has an example',
  );
  assert.deepEqual(done, { decoded: expected, failed: [] });
  assert.deepEqual(warnings, []);
  // The streamed and tool-calling shapes are among them, so their branches of the validators ran too.
  const chat = codecs[0] as EndpointCodec;
  const kinds = WARM_UP_EXAMPLES.chat.map((e) => chat.decode(JSON.stringify(e.body)));
  assert.deepEqual(
    kinds.map((r) => [r.kind, r.stream]),
    [
      ['chat', false],
      ['chat', true],
      ['chat', false],
    ],
  );
});

test('a codec that refuses its example does not stop the start: it is named in one warning', () => {
  const warnings: Array<Record<string, unknown>> = [];
  const refusing = {
    ...(gatewayCodecs()[2] as EndpointCodec),
    decode: () => {
      throw new ValidationError('no', 'input');
    },
  } satisfies EndpointCodec;
  const done = warmCodecs([refusing], { warn: (obj) => warnings.push(obj as Record<string, unknown>) });
  assert.equal(done.decoded, 0);
  assert.deepEqual(done.failed, ['embeddings', 'embeddings']);
  assert.equal(warnings.length, 1);
  assert.deepEqual(warnings[0]?.failed, ['embeddings', 'embeddings']);
});
