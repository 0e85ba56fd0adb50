import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyBook, UnknownPolicyError } from './policy.js';

const book = new PolicyBook({
  phone_regions: ['US'],
  policies: {
    assist: { restore: true, entities: { '*': 'mask' }, max_input_tokens: 8000 },
    cards: { entities: { credit_card: 'block' }, output: false, max_input_tokens: 100 },
    watch: { entities: { '*': 'log_only' } },
  },
});

describe('policy resolution across levels', () => {
  it('no names at any level: no policy (the stage calls next at once)', () => {
    assert.equal(book.resolve([[], []]), null);
  });

  it('strictest action per entity and direction wins, naming the policy that decided it', () => {
    const p = book.resolve([['watch'], ['cards']]);
    assert.deepEqual(p?.input?.rules.get('credit_card'), { action: 'block', policy: 'cards' });
    assert.deepEqual(p?.input?.rules.get('email'), { action: 'log_only', policy: 'watch' });
    // `cards` does not check answers: its block does not reach the output side.
    assert.deepEqual(p?.output?.rules.get('credit_card'), { action: 'log_only', policy: 'watch' });
  });

  it('restore only when every applied policy restores; the smallest max_input_tokens', () => {
    assert.equal(book.resolve([['assist']])?.restore, true);
    assert.equal(book.resolve([['pii'], ['assist']])?.restore, false);
    assert.deepEqual(book.resolve([['assist'], ['cards']])?.maxInputTokens, { limit: 100, policy: 'cards' });
  });

  it('an unknown name throws UnknownPolicyError; resolutions are reused', () => {
    assert.throws(() => book.resolve([['pii'], ['gone']]), UnknownPolicyError);
    assert.equal(book.resolve([['pii']]), book.resolve([['pii'], ['pii']]));
  });
});
