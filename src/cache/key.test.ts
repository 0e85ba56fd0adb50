import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ChatRequest } from '../providers/types.js';
import { canonicalJson, exactKey, notCacheableReason, semanticQuery } from './key.js';

const S = 'key:k1';

const req = (extra: Record<string, unknown> = {}): ChatRequest =>
  ({
    model: 'gpt-4o-mini',
    temperature: 0,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi there' },
    ],
    ...extra,
  }) as ChatRequest;

describe('cache keys', () => {
  test('canonical JSON sorts keys at every level and drops undefined members', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [1, { y: 2, x: undefined }], c: null } }),
      '{"a":{"c":null,"d":[1,{"y":2}]},"b":1}',
    );
  });

  test('key order and irrelevant fields do not change the key; output-affecting fields do', () => {
    const base = exactKey(req(), S);
    assert.equal(
      exactKey(
        req({ user: 'a', stream: true, stream_options: { include_usage: true }, metadata: { x: '1' } }),
        S,
      ),
      base,
    );
    const reordered = { messages: req().messages, temperature: 0, model: 'gpt-4o-mini' } as ChatRequest;
    assert.equal(exactKey(reordered, S), base);
    for (const change of [
      { model: 'gpt-4o' },
      { max_tokens: 10 },
      { seed: 1 },
      { stop: ['x'] },
      { top_p: 0.5 },
      { response_format: { type: 'json_object' } },
      { tools: [{ type: 'function', function: { name: 'f' } }] },
      { vendor_extension: true },
      { messages: [{ role: 'user', content: 'Hi there' }] },
    ]) {
      assert.notEqual(exactKey(req(change), S), base, JSON.stringify(change));
    }
  });

  test('the scope is part of the key: another scope never finds the entry, nor can a field forge it', () => {
    assert.notEqual(exactKey(req(), 'key:k2'), exactKey(req(), S));
    // A body field named like the scope travels upstream: it changes the key, it never replaces the scope.
    assert.notEqual(exactKey(req({ scope: S }), 'key:k2'), exactKey(req(), S));
    assert.notEqual(exactKey(req({ scope: 'x' }), S), exactKey(req(), S));
    assert.notEqual(
      semanticQuery(req(), 'e1', 'key:k2')?.partition,
      semanticQuery(req(), 'e1', S)?.partition,
    );
  });

  test('only deterministic requests are cacheable (temperature unset means 1)', () => {
    assert.equal(notCacheableReason(req(), 0), null);
    assert.equal(notCacheableReason(req({ temperature: 0.2 }), 0), 'temperature');
    assert.equal(notCacheableReason(req({ temperature: 0.2 }), 0.5), null);
    assert.equal(notCacheableReason(req({ temperature: undefined }), 0), 'temperature');
    assert.equal(notCacheableReason(req({ n: 3 }), 0), 'n');
  });

  test('the semantic partition covers everything but the last user message', () => {
    const q = semanticQuery(req(), 'e1', S);
    assert.equal(q?.text, 'Hi there');
    const paraphrase = semanticQuery(
      req({ messages: [req().messages[0], { role: 'user', content: 'Hello!' }] }),
      'e1',
      S,
    );
    assert.equal(paraphrase?.partition, q?.partition);
    assert.notEqual(semanticQuery(req(), 'e2', S)?.partition, q?.partition, 'embedder is part of it');
    const otherSystem = req({ messages: [{ role: 'system', content: 'Be long.' }, req().messages[1]] });
    assert.notEqual(semanticQuery(otherSystem, 'e1', S)?.partition, q?.partition);
    assert.notEqual(semanticQuery(req({ max_tokens: 3 }), 'e1', S)?.partition, q?.partition);
    const parts = req({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
    });
    assert.equal(semanticQuery(parts, 'e1', S)?.text, 'a\nb');
    const image = req({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    });
    assert.equal(semanticQuery(image, 'e1', S), null);
  });
});
