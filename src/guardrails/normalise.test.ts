import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NormalView } from './normalise.js';
import { PolicyBook } from './policy.js';
import { GuardSession } from './session.js';
import { StreamWindow } from './window.js';

const book = new PolicyBook({
  policies: {
    strict: { input: true, output: true, restore: false, entities: { '*': 'block' }, patterns: [] },
    codename: {
      input: true,
      output: true,
      restore: false,
      entities: {},
      patterns: [],
      deny_list: { terms: ['Project Falcon', 'Bluebird'], action: 'mask' },
    },
  },
  phone_regions: ['US', 'GB'],
});
const pii = book.resolve([['pii']]);
const strict = book.resolve([['strict']]);
const codename = book.resolve([['codename']]);
if (!pii || !strict || !codename) throw new Error('policies resolve');

const ZWSP = '\u200b';
const NBSP = '\u00a0';
const NNBSP = '\u202f';
/** Full-width form of an ASCII text. */
const wide = (text: string) =>
  [...text].map((c) => (c === ' ' ? '\u3000' : String.fromCharCode(c.charCodeAt(0) + 0xfee0))).join('');

/** What the policy `pii` sends for `text`. */
const masked = (text: string) => new GuardSession(pii, () => undefined).input(text);

describe('normal view', () => {
  it('folds spaces and full-width forms one for one, drops invisible characters, and maps spans back', () => {
    const text = `a${NBSP}b${ZWSP}c\u00adＤ\u2028e`;
    const view = NormalView.of(text);
    assert.ok(view);
    assert.equal(view.text, 'a bcD\ne');
    // `bcD` in the view is `b<ZWSP>c<SHY>Ｄ` in the text.
    const [start, end] = view.original(2, 5);
    assert.equal(text.slice(start, end), `b${ZWSP}c\u00adＤ`);
    assert.equal(view.originalTail(text.length, 2), 2);
    assert.equal(view.originalTail(text.length, 4), 5);
    assert.equal(NormalView.of('plain ASCII, and 中文 too'), null);
  });
});

describe('Unicode evasion: every kind is detected and replaced in the original text', () => {
  const cases: Array<[string, string, string]> = [
    ['card, NBSP separators', `card 4111${NBSP}1111${NBSP}1111${NBSP}1111 ok`, 'card <CREDIT_CARD_1> ok'],
    ['card, zero-width spaces', `card 4111${ZWSP}1111${ZWSP}1111${ZWSP}1111 ok`, 'card <CREDIT_CARD_1> ok'],
    ['card, full-width digits', `card ${wide('4111 1111 1111 1111')} ok`, 'card <CREDIT_CARD_1> ok'],
    ['phone, NBSP', `call +44${NBSP}20${NBSP}7946${NBSP}0958 now`, 'call <PHONE_1> now'],
    [
      'phone, narrow NBSP',
      `appel +33${NNBSP}6${NNBSP}12${NNBSP}34${NNBSP}56${NNBSP}78 ici`,
      'appel <PHONE_1> ici',
    ],
    ['email, zero-width space', `mail jane${ZWSP}.doe@example.com now`, 'mail <EMAIL_1> now'],
    ['email, word joiner and BOM', `mail jane\u2060.doe@exam\ufeffple.com now`, 'mail <EMAIL_1> now'],
    ['email, full-width @', 'mail jane.doe＠example.com now', 'mail <EMAIL_1> now'],
    [
      'IBAN, NBSP groups',
      `iban DE89${NBSP}3704${NBSP}0044${NBSP}0532${NBSP}0130${NBSP}00 ok`,
      'iban <IBAN_1> ok',
    ],
    ['SSN, zero-width space', `ssn 536-22-${ZWSP}1234 ok`, 'ssn <US_SSN_1> ok'],
    ['SSN, soft hyphen', `ssn 536-2\u00ad2-1234 ok`, 'ssn <US_SSN_1> ok'],
    ['IPv4, zero-width space', `host 10.0.${ZWSP}12.7 ok`, 'host <IP_ADDRESS_1> ok'],
    [
      'GitHub token, zero-width non-joiner',
      `token ghp_\u200c${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'} ok`,
      'token <SECRET_1> ok',
    ],
    ['card, right-to-left mark', `card 4111\u200f 1111 1111 1111 ok`, 'card <CREDIT_CARD_1> ok'],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      assert.equal(masked(text), expected);
      assert.throws(() => new GuardSession(strict, () => undefined).input(text), {
        code: 'content_policy_violation',
      });
    });
  }

  it('a stream with a NBSP-separated number split across chunks is caught whole', () => {
    const session = new GuardSession(pii, () => undefined);
    const scanner = session.outputScanner;
    assert.ok(scanner);
    const window = new StreamWindow(session, scanner);
    const text = `Card 4111${NBSP}1111${NBSP}1111${NBSP}1111 is on file.`;
    let sent = '';
    for (let i = 0; i < text.length; i += 3) sent += window.push(text.slice(i, i + 3));
    sent += window.flush();
    assert.equal(sent, 'Card <CREDIT_CARD_1> is on file.');
  });

  it('deny-list terms through zero-width characters and full-width letters', () => {
    const session = new GuardSession(codename, () => undefined);
    assert.equal(
      session.input(`about Blue${ZWSP}bird and ${wide('BLUEBIRD')}`),
      'about <DENY_LIST_1> and <DENY_LIST_2>',
    );
  });
});
