import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config/load.js';

describe('guardrails config', () => {
  it('GUARDRAILS_DEFAULT_POLICY sets the default; policies need only what they change', () => {
    const config = loadConfig({
      env: { GUARDRAILS_DEFAULT_POLICY: 'pii' },
      yamlText: "guardrails:\n  policies:\n    strict:\n      entities: { credit_card: block, '*': mask }\n",
    });
    assert.equal(config.guardrails.default_policy, 'pii');
    assert.deepEqual(config.guardrails.policies.strict?.entities, { credit_card: 'block', '*': 'mask' });
    assert.deepEqual(config.guardrails.phone_regions, ['US', 'GB']);
  });

  it('an unknown entity or action is reported with its path', () => {
    assert.throws(
      () =>
        loadConfig({
          env: {},
          yamlText: 'guardrails:\n  policies:\n    p:\n      entities: { passport: mask, email: hide }\n',
        }),
      (err: Error) => /guardrails\.policies\.p\.entities/.test(err.message),
    );
  });
});
