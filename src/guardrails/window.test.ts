import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GuardrailPolicyConfig } from '../config/guardrails-schema.js';
import { PolicyBook } from './policy.js';
import { GuardSession } from './session.js';
import { StreamWindow } from './window.js';

function policy(p: Partial<GuardrailPolicyConfig>): GuardrailPolicyConfig {
  return { input: true, output: true, restore: false, entities: { '*': 'mask' }, patterns: [], ...p };
}

function session(p: Partial<GuardrailPolicyConfig> = {}) {
  const book = new PolicyBook({ policies: { t: policy(p) }, phone_regions: ['US', 'GB'] });
  const resolved = book.resolve([['t']]);
  if (!resolved) throw new Error('resolved');
  return new GuardSession(resolved, () => undefined);
}

/** Streams `text` cut into pieces of `size` (from `offset`) and returns what the client would see. */
function stream(s: GuardSession, text: string, size: number, offset = 0): { sent: string; pieces: string[] } {
  const scanner = s.outputScanner;
  if (!scanner) throw new Error('scanner');
  const w = new StreamWindow(s, scanner);
  const pieces: string[] = [];
  const cuts = offset > 0 ? [text.slice(0, offset)] : [];
  for (let i = offset; i < text.length; i += size) cuts.push(text.slice(i, i + size));
  for (const piece of cuts) pieces.push(w.push(piece));
  pieces.push(w.flush());
  return { sent: pieces.join(''), pieces };
}

const ANSWER =
  'Reach Jane at jane.doe@example.com or +44 20 7946 0958. Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ' +
  'key sk-proj-Abc123def456ghi789jkl012mno345, server 10.0.12.7 (version 1.2.3.4). Thanks!';
const RAW = [
  'jane.doe@example.com',
  '+44 20 7946 0958',
  '4111 1111 1111 1111',
  'DE89 3704 0044 0532 0130 00',
  'sk-proj-Abc123def456ghi789jkl012mno345',
  '10.0.12.7',
];

describe('stream window', () => {
  it('a value split across chunks is caught at every split, and the result equals the whole-text check', () => {
    const whole = session().output(ANSWER);
    for (const raw of RAW) assert.ok(!whole.includes(raw));
    for (const size of [1, 2, 3, 5, 8, 13]) {
      for (let offset = 0; offset < size; offset++) {
        const { sent } = stream(session(), ANSWER, size, offset);
        assert.equal(sent, whole, `size ${size} offset ${offset}`);
      }
    }
  });

  it('no piece sent ever contains a raw value, nor can the prefix sent so far end with part of one', () => {
    const { pieces } = stream(session(), ANSWER, 4);
    let soFar = '';
    for (const piece of pieces) {
      soFar += piece;
      for (const raw of RAW) {
        assert.ok(!soFar.includes(raw));
        // The longest prefix of the value the client has seen is at most a separator-free fragment
        // shorter than half the value (never the whole identifying part).
        for (let k = Math.ceil(raw.length / 2); k <= raw.length; k++)
          assert.ok(!soFar.endsWith(raw.slice(0, k)), raw);
      }
    }
  });

  it('prose is held back by about one word (first bytes go out early)', () => {
    const s = session();
    const w = new StreamWindow(s, s.outputScanner!);
    assert.equal(w.push('Hello there, '), 'Hello there, ');
    assert.equal(w.push('how are yo'), 'how are ');
    assert.equal(w.push('u today?'), 'you ');
    assert.equal(w.flush(), 'today?');
  });

  it('restores placeholders masked in the request, also when a placeholder is split across chunks', () => {
    const s = session({ restore: true });
    const masked = s.input('mail jane.doe@example.com about card 4111 1111 1111 1111');
    assert.equal(masked, 'mail <EMAIL_1> about card <CREDIT_CARD_1>');
    for (const size of [1, 2, 3, 7]) {
      const { sent } = stream(s, 'Sent to <EMAIL_1>, charged <CREDIT_CARD_1>; cc new@corp.io', size);
      assert.equal(sent, 'Sent to jane.doe@example.com, charged 4111 1111 1111 1111; cc <EMAIL_2>');
    }
  });

  it('without restore the placeholders stay; a value the model made up gets the next placeholder', () => {
    const s = session();
    s.input('jane.doe@example.com');
    assert.equal(stream(s, 'ok <EMAIL_1> and bob@corp.io', 2).sent, 'ok <EMAIL_1> and <EMAIL_2>');
  });

  it('redact and block in streams', () => {
    assert.equal(
      stream(session({ entities: { '*': 'redact' } }), 'mail a.b@c.io now', 3).sent,
      'mail [REDACTED_EMAIL] now',
    );
    assert.throws(
      () => stream(session({ entities: { credit_card: 'block' } }), 'card 4111 1111 1111 1111 ok', 3),
      (err: Error & { code?: string }) =>
        err.code === 'content_policy_violation' && !err.message.includes('4111'),
    );
  });

  it('an open PEM block is held until its END line', () => {
    const s = session();
    const w = new StreamWindow(s, s.outputScanner!);
    let sent = w.push('Key:\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n');
    assert.equal(sent, 'Key:\n');
    sent += w.push('BKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----\nDone.');
    sent += w.flush();
    assert.equal(sent, 'Key:\n<SECRET_1>\nDone.');
  });
});
