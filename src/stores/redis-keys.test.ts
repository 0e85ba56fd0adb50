import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  admissionTag,
  budgetBase,
  keySlot,
  orgTag,
  rateLimitKey,
  semanticKeys,
  tagId,
  userTag,
} from './redis-keys.js';

test('slots: the CRC16 of the hash tag, as Redis Cluster computes them', () => {
  // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
  assert.equal(keySlot('123456789'), 0x31c3 % 16384);
  assert.equal(keySlot('foo'), 12182);
  assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
  assert.equal(keySlot('{user1000}.following'), keySlot('user1000'));
  // An empty tag is no tag: the whole key is hashed.
  assert.equal(keySlot('foo{}{bar}'), keySlot('foo{}{bar}'));
  assert.notEqual(keySlot('a{}x'), keySlot('b{}x'));
  assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
});

test('the layout before 0099 is unchanged: user tags stay bare, so no counter is lost at upgrade', () => {
  assert.equal(rateLimitKey('llmgw:', 'alice', 'r'), 'llmgw:rl:{alice}:r');
  assert.equal(budgetBase('llmgw:', 'alice'), 'llmgw:budget:{alice}');
  assert.deepEqual(semanticKeys('llmgw:', 'openai/gpt-4o', 'ab12'), [
    'llmgw:cache:s:{openai%2Fgpt-4o:ab12}:seq',
    'llmgw:cache:s:{openai%2Fgpt-4o:ab12}:list',
  ]);
});

test('ids cannot end or move a tag, and escaping never merges two ids', () => {
  assert.equal(tagId('alice@example.com'), 'alice@example.com');
  assert.equal(tagId('}x{%'), '%7Dx%7B%25');
  assert.notEqual(tagId('a{b'), tagId('a%7Bb'));
  for (const id of ['}', '{}', 'a}b{c', '%7D']) {
    assert.equal(keySlot(rateLimitKey('p:', id, 'r')), keySlot(rateLimitKey('p:', id, 't')), id);
    assert.equal(
      keySlot(`${budgetBase('p:', id)}:user:d:1`),
      keySlot(`${budgetBase('p:', id)}:key:k:m:1`),
      id,
    );
  }
});

test('admission: one tag per request, the organization when there is one', () => {
  assert.equal(admissionTag({ userId: 'u1', orgId: 'acme' }), orgTag('acme'));
  assert.equal(admissionTag({ userId: 'u1', orgId: null }), userTag('u1'));
  assert.equal(orgTag('acme'), '{o:acme}');
});
