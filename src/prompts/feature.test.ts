import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { chatContext, recordingNext, unitDeps } from '../../test/helpers/stage.js';
import { BadRequestError } from '../core/errors.js';
import { completionResult } from '../core/result.js';
import { createChatValidator } from '../endpoints/chat/codec.js';
import { createSchemaCompiler } from '../endpoints/compile.js';
import { createPromptsFeature } from './feature.js';

const clock = fakeClock();
const validate = createChatValidator(createSchemaCompiler());
const answer = completionResult(
  { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [] },
  'upstream',
  null,
);
const config = (enabled: boolean) => ({
  prompts: { enabled, cache_ttl_ms: 5000, max_cached: 10 },
  feedback: { metrics: {} },
});

describe('prompts feature', () => {
  test('the admin routes of the interface', () => {
    const feature = createPromptsFeature(config(true), unitDeps(clock), validate);
    const routes = (feature.routes ?? []).map((r) => `${r.method} ${r.url}`);
    for (const route of [
      'GET /admin/prompts',
      'POST /admin/prompts',
      'GET /admin/prompts/:id',
      'GET /admin/prompts/:id/versions',
      'POST /admin/prompts/:id/versions',
      'PUT /admin/prompts/:id/labels/:label',
      'GET /admin/prompts/:id/diff',
      'POST /admin/prompts/:id/archive',
      'POST /admin/experiments',
      'POST /admin/experiments/:id/start',
      'POST /admin/experiments/:id/stop',
      'GET /admin/experiments/:id/report',
    ]) {
      assert.ok(routes.includes(route), route);
    }
    assert.ok((feature.routes ?? []).every((r) => (r.access ?? 'global') === 'global'));
  });

  test('a plain request never opens the database; prompts turned off refuse a reference with 400', async () => {
    const on = createPromptsFeature(config(true), unitDeps(clock), validate);
    const plain = recordingNext(() => answer);
    await on.stage.run(chatContext(clock), plain.next);
    assert.equal(plain.calls.length, 1);

    const off = createPromptsFeature(config(false), unitDeps(clock), validate);
    const ctx = chatContext(clock);
    const request = ctx.request;
    assert.ok(request?.kind === 'chat');
    ctx.request = {
      ...request,
      prompt: { id: 'p', version: null, label: null, variables: {}, experiment: null },
    };
    await assert.rejects(off.stage.run(ctx, plain.next), (err: unknown) => {
      assert.ok(err instanceof BadRequestError);
      assert.equal(err.param, 'prompt');
      return true;
    });
  });
});
