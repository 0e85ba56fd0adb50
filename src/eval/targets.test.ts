import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDataset } from './dataset.js';
import { buildRequest, parseTarget } from './targets.js';

test('targets: models, aliases and prompt versions by label or number', () => {
  assert.deepEqual(parseTarget('gpt-4o-mini'), { kind: 'model', name: 'gpt-4o-mini', model: 'gpt-4o-mini' });
  assert.deepEqual(parseTarget('prompt:support@production'), {
    kind: 'prompt',
    name: 'prompt:support@production',
    promptId: 'support',
    label: 'production',
    version: null,
  });
  assert.equal((parseTarget('prompt:support@3') as { version: number }).version, 3);
  assert.throws(() => parseTarget('prompt:support'), /prompt:ID@LABEL/);
  assert.throws(() => parseTarget('has space'), /model or alias/);
  // The gateway's rules: ids and labels start with a letter or digit, at most 64 characters; versions from 1.
  assert.throws(() => parseTarget('prompt:_support@production'), /1 to 64 letters/);
  assert.throws(() => parseTarget(`prompt:${'x'.repeat(65)}@production`), /1 to 64 letters/);
  assert.throws(() => parseTarget('prompt:support@0'), /whole number from 1/);
});

test('a model target streams the question with its numbered context', () => {
  const [item] = parseDataset('{"input":"Who?","context":["P1","P2"]}');
  const req = buildRequest(parseTarget('claude-haiku-4-5'), item!, 0);
  assert.equal(req.path, '/v1/chat/completions');
  assert.equal(req.body.stream, true);
  assert.deepEqual(req.body.stream_options, { include_usage: true });
  const messages = req.body.messages as Array<{ content: string }>;
  assert.match(messages[0]!.content, /Context:\n\[1\] P1\n\[2\] P2\n\nQuestion: Who\?$/);
});

test('a prompt target calls /v1/prompts/{id}/completions with the item variables and the label or version', () => {
  const [item] = parseDataset('{"variables":{"customer":"Ada","issue":"refund"}}');
  const byLabel = buildRequest(parseTarget('prompt:support@production'), item!, 0);
  assert.equal(byLabel.path, '/v1/prompts/support/completions');
  assert.deepEqual(byLabel.body, {
    label: 'production',
    variables: { customer: 'Ada', issue: 'refund' },
    stream: true,
    stream_options: { include_usage: true },
  });
  const byVersion = buildRequest(parseTarget('prompt:support@2'), item!, 0);
  assert.equal(byVersion.body.version, 2);
  assert.equal('label' in byVersion.body, false);
  assert.throws(() => buildRequest(parseTarget('gpt-4o'), item!, 0), /needs a prompt: target/);
});
