import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../config/load.js';
import type { EndpointCodec } from '../core/endpoint.js';
import { ValidationError } from '../core/errors.js';
import { createGateway, type Gateway } from '../gateway.js';
import { WARM_UP_EXAMPLES, warmCodecs } from './warm-up.js';

// The codecs a gateway serves, as `npm start` warms them (a codec added there without examples fails here).
let gateway: Gateway;
before(async () => {
  const env = {
    OPENAI_API_KEY: 'sk-test',
    GATEWAY_DATA_DIR: 'memory://',
    USAGE_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
  };
  gateway = await createGateway({ config: loadConfig({ env }), env });
});
after(() => gateway.close());

test('every example body decodes with the codecs the gateway serves (a failing one would warm nothing)', () => {
  const warnings: object[] = [];
  const codecs = gateway.codecs;
  const done = warmCodecs(codecs, { warn: (obj) => warnings.push(obj) });
  const expected = codecs.reduce((n, c) => n + WARM_UP_EXAMPLES[c.name].length, 0);
  assert.ok(
    codecs.every((c) => WARM_UP_EXAMPLES[c.name].length > 0),
    'every endpoint has an example',
  );
  assert.deepEqual(done, { decoded: expected, failed: [] });
  assert.deepEqual(warnings, []);
  // The streamed and tool-calling shapes are among them, so their branches of the validators ran too.
  const chat = codecs.find((c) => c.name === 'chat') as EndpointCodec;
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
    ...(gateway.codecs.find((c) => c.name === 'embeddings') as EndpointCodec),
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
