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

/** What Anthropic accepts as a `tool_use.id`: a conversation may move on to a Claude deployment. */
const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;

test('with a signature: call_<hex>__thought__<base64url signature>, an id Anthropic accepts', () => {
  const id = newToolCallId(SIGNATURE);
  assert.equal(typeof id, 'string');
  assert.equal(THOUGHT_SIGNATURE_SEPARATOR, '__thought__');
  assert.match(id, /^call_[0-9a-f]{24}__thought__/);
  assert.match(id, ANTHROPIC_ID);
  assert.equal(
    id.slice('call_'.length + 24 + '__thought__'.length),
    'Vg1-RWvyZpP_EI5DHBG64p-KamURb_ItXJ2SI9Cn-0pLb-erAnYnsGTbVscQfw',
  );
  const echoed: unknown = JSON.parse(JSON.stringify({ tool_call_id: id }));
  assert.deepStrictEqual(echoed, { tool_call_id: id });
  // Gemini gets the signature back exactly as it sent it (standard base64, padded).
  assert.equal(thoughtSignatureOf(id), SIGNATURE);
  for (const signature of ['AAAA', 'AA==', 'AAA=', 'ab//thought//c==', '-_-_']) {
    const other = newToolCallId(signature);
    assert.match(other, ANTHROPIC_ID, signature);
    assert.equal(thoughtSignatureOf(other), signature.replaceAll('-', '+').replaceAll('_', '/'));
  }
});

test('ids made before base64url: a standard-base64 signature is read as it is', () => {
  assert.equal(thoughtSignatureOf(`call_0123456789abcdef01234567__thought__${SIGNATURE}`), SIGNATURE);
  assert.equal(
    thoughtSignatureOf('call_1__thought__CiQB0e2Kb7Zx+Yk3t/9p2tq0kQ=='),
    'CiQB0e2Kb7Zx+Yk3t/9p2tq0kQ==',
  );
  assert.equal(thoughtSignatureOf('call_1__thought__AAAAAA=='), 'AAAAAA==');
});

test('a signature that is not base64 is not carried (the id stays one Anthropic accepts)', () => {
  for (const bad of ['not base64!', 'a b', 'é', '=AAA']) {
    const id = newToolCallId(bad);
    assert.match(id, /^call_[0-9a-f]{24}$/, bad);
  }
});

test('ids from elsewhere carry no signature; the first separator splits', () => {
  assert.equal(thoughtSignatureOf('call_abc'), undefined);
  assert.equal(thoughtSignatureOf('toolu_01A09q90qw90lq917835lq9'), undefined);
  assert.equal(thoughtSignatureOf('call_abc__thought__'), undefined);
  assert.equal(thoughtSignatureOf('x__thought__ab__thought__cd'), 'ab//thought//cd=');
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
