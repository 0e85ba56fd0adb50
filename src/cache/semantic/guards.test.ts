import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  createMatchGuard,
  DEFAULT_SEMANTIC_THRESHOLD,
  firstBrokenRule,
  GUARD_RULES,
  pairFeatures,
  SAME_WORDS_MARGIN,
} from './guards.js';

const guard = createMatchGuard();
const HIGH = 0.99;
const all = new Set(GUARD_RULES);
const broken = (q: string, c: string) => firstBrokenRule(pairFeatures(q, c, HIGH), all);

describe('match guard', () => {
  test('accepts true paraphrases above the threshold', () => {
    for (const [q, c] of [
      ['How do I cancel my subscription?', 'How can I cancel my subscription?'],
      ['what is the capital of france', 'What is the capital of France?'],
      ["Why can't I sleep at night?", 'Why can I not sleep at night?'],
      ['How many calories are in two eggs?', 'How many calories are in 2 eggs?'],
      ['What phone should I buy under Rs 15000?', 'Which phone should I buy under Rs 15k?'],
      ['How do you travel with two passports?', 'How does one travel with two passports?'],
      ['How do I reset my password?', 'How do I reset my password quickly?'],
    ]) {
      assert.equal(broken(q!, c!), null, `${q} / ${c}`);
      assert.equal(guard.accept(q!, c!, HIGH), true, `${q} / ${c}`);
    }
  });

  test('same content words need the lower tier, other wording the full threshold, nothing below either', () => {
    const t = DEFAULT_SEMANTIC_THRESHOLD;
    assert.equal(guard.threshold, t - SAME_WORDS_MARGIN, 'the search cut-off is the lower tier');
    const same = ['How do I cancel my subscription?', 'How can I cancel my subscription?'] as const;
    const reworded = ['How do I cancel my subscription?', 'How do I cancel my subscription online?'] as const;
    assert.equal(guard.accept(...same, t - SAME_WORDS_MARGIN), true);
    assert.equal(guard.accept(...same, t - SAME_WORDS_MARGIN - 0.001), false);
    assert.equal(guard.accept(...reworded, t - 0.001), false);
    assert.equal(guard.accept(...reworded, t), true);
    assert.equal(guard.accept('same text', 'same text', Number.NaN), false);
  });

  test('different numbers, dates, amounts or units of count never match', () => {
    assert.equal(broken('How many calories are in 2 eggs?', 'How many calories are in 3 eggs?'), 'numbers');
    assert.equal(broken('Best phone under $300', 'Best phone under $500'), 'numbers');
    assert.equal(broken('What happened in 1998?', 'What happened in 2008?'), 'numbers');
    assert.equal(broken('Give me three reasons', 'Give me five reasons'), 'numbers');
    assert.equal(broken('Rent went up 5%', 'Rent went up 5'), 'numbers');
    assert.equal(broken('How do I unlock my iPhone 6?', 'How do I unlock my iPhone?'), 'numbers');
  });

  test('a negation on one side only never matches', () => {
    assert.equal(broken('Is it safe to eat raw eggs?', 'Is it not safe to eat raw eggs?'), 'negation');
    assert.equal(broken("Why doesn't my car start?", 'Why does my car start?'), 'negation');
    assert.equal(broken('Can I travel without a visa?', 'Can I travel with a visa?'), 'negation');
    assert.equal(
      broken('What do non-Indian men think of Indian food?', 'What do Indian men think of Indian food?'),
      'negation',
    );
    assert.equal(broken("Isn't it cold?", 'Is it not cold?'), null);
  });

  test('a different named entity never matches', () => {
    assert.equal(broken('What is the capital of France?', 'What is the capital of Germany?'), 'entities');
    assert.equal(
      broken(
        'Where is the Maruti Suzuki showroom in Jabalpur?',
        'Where is the Maruti Suzuki showroom in Shimla?',
      ),
      'entities',
    );
    assert.equal(broken('How do I learn Python?', 'How do I learn Rust?'), 'entities');
  });

  test('a swapped key verb or noun never matches; adding a word does', () => {
    assert.equal(
      broken('How do I cancel my subscription?', 'How do I upgrade my subscription?'),
      'substitution',
    );
    assert.equal(broken('How do I delete my account?', 'How do I create my account?'), 'substitution');
    assert.equal(broken('how to bake bread', 'how to bake cake'), 'substitution');
    assert.equal(broken('How do I cancel my plan?', 'How do I cancel my plan online?'), null);
  });

  test('opposite superlatives and different kinds of question never match', () => {
    assert.equal(
      broken('What is the best laptop for programming?', 'What is the worst laptop for programming?'),
      'degree',
    );
    assert.equal(broken('Why is the sky blue?', 'How is the sky blue?'), 'questionWord');
    assert.equal(broken('When does the store open?', 'Where does the store open?'), 'questionWord');
    assert.equal(broken('What is the best way to learn Spanish?', 'How do I learn Spanish best?'), null);
  });

  test('swapped sides of a comparison or a direction never match; a swapped list does', () => {
    assert.equal(broken('Is Java faster than Python?', 'Is Python faster than Java?'), 'direction');
    assert.equal(
      broken('Cheapest flights from Paris into London', 'Cheapest flights from London into Paris'),
      'direction',
    );
    assert.equal(broken('Which is better, Python or Java?', 'Which is better, Java or Python?'), null);
  });

  test('explain names the reason a candidate is turned away', () => {
    const t = DEFAULT_SEMANTIC_THRESHOLD;
    assert.equal(
      guard.explain('How do I cancel my plan?', 'How can I cancel my plan?', t - 0.05),
      'accepted',
    );
    assert.equal(
      guard.explain('How do I cancel my plan?', 'How do I cancel my plan?', 0.5),
      'below threshold',
    );
    assert.equal(
      guard.explain('How do I cancel my plan?', 'How do I cancel my plan online?', t - 0.05),
      'reworded below threshold',
    );
    assert.equal(
      guard.explain('How do I cancel my plan?', 'How do I upgrade my plan?', 0.999),
      'substitution',
    );
  });

  test('rules can be switched off for measurement; bad thresholds are refused', () => {
    const cosineOnly = createMatchGuard({ threshold: 0.9, rules: [] });
    assert.equal(cosineOnly.accept('How do I cancel my plan?', 'How do I upgrade my plan?', 0.95), true);
    assert.equal(
      createMatchGuard({ threshold: 0.9 }).accept(
        'How do I cancel my plan?',
        'How do I upgrade my plan?',
        0.95,
      ),
      false,
    );
    assert.throws(() => createMatchGuard({ threshold: 0 }), /not in \(0, 1\]/);
    assert.throws(() => createMatchGuard({ threshold: 1.5 }), /not in \(0, 1\]/);
  });
});
