import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PolicyBook } from './policy.js';
import { GuardSession } from './session.js';
import { StreamWindow } from './window.js';

const resolved = new PolicyBook({
  policies: {
    codename: {
      input: true,
      output: true,
      restore: false,
      entities: {},
      patterns: [],
      deny_list: { terms: ['Project Falcon', 'Bluebird'], action: 'mask' },
    },
  },
  phone_regions: ['US'],
}).resolve([['codename']]);
if (!resolved) throw new Error('the policy resolves');
const codename = resolved;
const NBSP = '\u00a0';

describe('deny-list terms of several words', () => {
  it('match across any run of whitespace: line breaks, two spaces, tabs, NBSP', () => {
    const session = () => new GuardSession(codename, () => undefined);
    for (const text of [
      'Project  Falcon',
      'Project\nFalcon',
      'project\r\n\tfalcon',
      `Project${NBSP}Falcon`,
    ]) {
      assert.equal(
        session().input(`Tell me about ${text}.`),
        'Tell me about <DENY_LIST_1>.',
        JSON.stringify(text),
      );
    }
    assert.equal(
      session().input('Project Falconry and a project, Falcon'),
      'Project Falconry and a project, Falcon',
    );
  });

  it('a stream holds a term split after its line break', () => {
    for (const cut of ['Project\n', 'Project\n\n', 'Project  ', 'Proj']) {
      const session = new GuardSession(codename, () => undefined);
      const scanner = session.outputScanner;
      assert.ok(scanner);
      const window = new StreamWindow(session, scanner);
      const text = 'About Project\n\nFalcon: no.';
      const first = text.slice(0, text.indexOf(cut) + cut.length);
      const sent = window.push(first) + window.push(text.slice(first.length)) + window.flush();
      assert.equal(sent, 'About <DENY_LIST_1>: no.', JSON.stringify(cut));
    }
  });
});
