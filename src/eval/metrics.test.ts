import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exactMatch, normaliseAnswer } from './metrics.js';

test('exact match drops surrounding quotes and final punctuation in either order', () => {
  for (const answer of [
    'Canberra',
    'canberra.',
    '"Canberra".',
    '"Canberra."',
    '“Canberra”.',
    "'Canberra' !",
    '«Canberra»',
  ]) {
    assert.equal(exactMatch(answer, 'Canberra.'), 1, answer);
  }
  assert.equal(exactMatch('It is Canberra.', 'Canberra.'), 0);
  assert.equal(exactMatch('Sydney', 'Canberra'), 0);
  // Inner quotes and punctuation stay.
  assert.equal(normaliseAnswer('"Don\'t," she said.'), 'don\'t," she said');
});
