import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_VALIDATIONS, ValidationBudget } from './budget.js';
import { PolicyBook } from './policy.js';
import { GuardSession } from './session.js';

const policy = new PolicyBook({ policies: {}, phone_regions: ['US', 'GB'] }).resolve([['pii']]);
if (!policy) throw new Error('pii resolves');

/** `+1 NXX NXX NN`: phone-shaped, never a valid number (NANP numbers have ten digits). */
const invalid = (i: number) =>
  `+1 ${200 + (i % 800)} ${String(Math.floor(i / 800) + 200)} ${String(i % 97).padStart(2, '0')}`;

describe('validation budget', () => {
  it('remembers a candidate for the request: checked once, however often it appears', () => {
    const budget = new ValidationBudget(2);
    let calls = 0;
    const check = (c: string) => {
      calls++;
      return c === 'yes';
    };
    assert.equal(budget.check('a', 'yes', check), true);
    assert.equal(budget.check('a', 'yes', check), true);
    assert.equal(budget.check('b', 'no', check), false);
    assert.equal(budget.spent, true);
    assert.equal(budget.check('b', 'no', check), false, 'known: still answered');
    assert.equal(budget.check('c', 'yes', check), null, 'spent: not checked');
    assert.equal(calls, 2);
  });

  it('phones past the bound are decided on their shape: masked, not sent unchecked (fail closed)', () => {
    // Each invalid international candidate costs up to two validations (itself, then without its last group).
    const many = Array.from({ length: MAX_VALIDATIONS * 2 }, (_, i) => invalid(i));
    const past = invalid(MAX_VALIDATIONS * 2 + 1);
    const session = new GuardSession(policy, () => undefined);
    const out = session.input(`${many.join(', ')}, then ${past} and +44 20 7946 0958.`);
    // Checked within the bound: invalid numbers stay as they are.
    assert.ok(out.startsWith(`${many[0]}, ${many[1]}, `), out.slice(0, 80));
    assert.equal(session.budget.spent, true);
    assert.ok(!out.includes(past) && !out.includes('7946'), out.slice(-80));
    assert.match(out, /, then <PHONE_\d+> and <PHONE_\d+>\.$/);
  });

  it('a repeated candidate does not spend the bound', () => {
    const session = new GuardSession(policy, () => undefined);
    const same = Array.from({ length: MAX_VALIDATIONS * 3 }, () => invalid(0)).join(', ');
    const out = session.input(`${same}, then ${invalid(1)}.`);
    assert.equal(out, `${same}, then ${invalid(1)}.`);
    assert.equal(session.budget.spent, false);
  });

  it('the bound is per request: a new session validates again', () => {
    const first = new GuardSession(policy, () => undefined);
    first.input(Array.from({ length: MAX_VALIDATIONS + 5 }, (_, i) => invalid(i)).join(', '));
    assert.equal(first.budget.spent, true);
    const second = new GuardSession(policy, () => undefined);
    assert.equal(second.input(`call ${invalid(7)}`), `call ${invalid(7)}`);
  });
});
