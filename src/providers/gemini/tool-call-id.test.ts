import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { newToolCallId, THOUGHT_SIGNATURE_SEPARATOR, thoughtSignatureOf } from './tool-call-id.js';

const SIGNATURE = 'Vg1+RWvyZpP/EI5DHBG64p+KamURb/ItXJ2SI9Cn+0pLb+erAnYnsGTbVscQfw==';

test('without a signature: call_ and 24 hex digits, carrying nothing', () => {
  for (const missing of [undefined, '', null, 42, { bytes: 'x' }]) {
    const id = newToolCallId(missing);
    assert.match(id, /^call_[0-9a-f]{24}$/, `signature ${JSON.stringify(missing)}`);
    assert.equal(thoughtSignatureOf(id), undefined);
  }
  assert.notEqual(newToolCallId(), newToolCallId());
});

test('with a signature: call_<hex>__thought__<signature>, a plain string that survives JSON', () => {
  const id = newToolCallId(SIGNATURE);
  assert.equal(typeof id, 'string');
  assert.equal(THOUGHT_SIGNATURE_SEPARATOR, '__thought__');
  assert.match(id, /^call_[0-9a-f]{24}__thought__/);
  assert.equal(id.slice('call_'.length + 24 + '__thought__'.length), SIGNATURE);
  const echoed: unknown = JSON.parse(JSON.stringify({ tool_call_id: id }));
  assert.deepStrictEqual(echoed, { tool_call_id: id });
  assert.equal(thoughtSignatureOf(id), SIGNATURE);
});

test('ids from elsewhere carry no signature; the first separator splits', () => {
  assert.equal(thoughtSignatureOf('call_abc'), undefined);
  assert.equal(thoughtSignatureOf('toolu_01A09q90qw90lq917835lq9'), undefined);
  assert.equal(thoughtSignatureOf('call_abc__thought__'), undefined);
  assert.equal(thoughtSignatureOf('x__thought__a_b__thought__c'), 'a_b__thought__c');
});

test('fixture signatures are standard base64, whose alphabet has no "_" (so no separator inside)', () => {
  const dir = new URL('./__fixtures__/', import.meta.url);
  const signatures = readdirSync(dir).flatMap((name) =>
    [...readFileSync(new URL(name, dir), 'utf8').matchAll(/"thoughtSignature":\s*"([^"]*)"/g)].map(
      (m) => m[1],
    ),
  );
  assert.ok(signatures.length >= 4);
  for (const signature of signatures) {
    assert.match(signature ?? '', /^[A-Za-z0-9+/]+={0,2}$/);
  }
});
