import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Agent } from 'undici';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { advance, chatContext, completion, recordingNext, stageContext } from '../../test/helpers/stage.js';
import type { Principal } from '../auth/principal.js';
import { loadConfig } from '../config/load.js';
import type { EndpointName } from '../core/context.js';
import type { EndpointCodec } from '../core/endpoint.js';
import { BadRequestError, GatewayError, PermissionDeniedError, ValidationError } from '../core/errors.js';
import { completionResult } from '../core/result.js';
import { createChatCodec } from '../endpoints/chat/codec.js';
import { createSchemaCompiler } from '../endpoints/compile.js';
import { createEmbeddingsCodec } from '../endpoints/embeddings/codec.js';
import { ProviderRegistry } from '../providers/registry.js';
import { ModelResolver } from '../routing/resolver.js';
import { decodeStage, resolveStage } from './stages.js';

const compile = createSchemaCompiler();
const codecs = new Map<EndpointName, EndpointCodec>([
  ['chat', createChatCodec(compile)],
  ['embeddings', createEmbeddingsCodec(compile)],
]);
const answer = () => completionResult(completion('hi'), 'upstream', null);

const dispatcher = new Agent();
after(() => dispatcher.close());

/** Fake secrets: OpenAI and Anthropic are configured, nothing else. */
const ENV = { OPENAI_API_KEY: 'sk-fake-openai-0000000000', ANTHROPIC_API_KEY: 'sk-ant-fake-0000000000' };
const config = loadConfig({
  env: ENV,
  yamlText: `
routes:
  smart:
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5 }
      - { provider: openai, model: gpt-4o }
`,
});
const resolver = new ModelResolver(config, new ProviderRegistry(config.providers, ENV, { dispatcher }));

/** Decodes `raw` on `endpoint`; returns the context, what the stage threw, and the calls of next. */
async function decode(raw: string, endpoint: EndpointName = 'chat') {
  const ctx = stageContext(fakeClock(), { endpoint });
  ctx.rawBody = raw;
  const { next, calls } = recordingNext(answer);
  let error: unknown = null;
  try {
    await decodeStage(codecs).run(ctx, next);
  } catch (err) {
    error = err;
  }
  return { ctx, error, calls };
}

describe('decode stage (real codecs)', () => {
  test('a valid chat body becomes the canonical request; the raw body is dropped; next runs', async () => {
    const { ctx, error, calls } = await decode(
      '{"model":"smart","messages":[{"role":"user","content":"Hi"}],"stream":true,"temperature":0}',
    );
    assert.equal(error, null);
    assert.equal(calls.length, 1);
    assert.equal(calls[0], ctx);
    assert.equal(ctx.request?.kind, 'chat');
    assert.equal(ctx.request?.model, 'smart');
    assert.equal(ctx.request?.stream, true);
    assert.deepEqual(ctx.request?.body.messages, [{ role: 'user', content: 'Hi' }]);
    assert.equal(ctx.rawBody, '', 'the raw text is not kept once decoded');
  });

  test('stream defaults to false', async () => {
    const { ctx } = await decode('{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}');
    assert.equal(ctx.request?.stream, false);
  });

  test('the endpoint picks the codec: an embeddings body decodes as embeddings', async () => {
    const { ctx, error } = await decode('{"model":"text-embedding-3-small","input":"Hi"}', 'embeddings');
    assert.equal(error, null);
    assert.equal(ctx.request?.kind, 'embeddings');
    assert.equal(ctx.request?.stream, false);
    // The same body is not a chat request (no messages).
    const chat = await decode('{"model":"text-embedding-3-small","input":"Hi"}', 'chat');
    assert.ok(chat.error instanceof ValidationError);
    assert.equal(chat.error.param, 'messages');
  });

  for (const [name, raw] of [
    ['not JSON', '{"model": "gpt-4o", "messages": ['],
    ['an empty body', ''],
    ['a prototype-polluting key', '{"model":"gpt-4o","messages":[],"__proto__":{"admin":true}}'],
  ] as const) {
    test(`${name} → 400 invalid_json; next is not called`, async () => {
      const { ctx, error, calls } = await decode(raw);
      assert.ok(error instanceof BadRequestError, String(error));
      assert.equal(error.status, 400);
      assert.equal(error.code, 'invalid_json');
      assert.equal(calls.length, 0);
      assert.equal(ctx.request, null);
    });
  }

  for (const [name, raw, param] of [
    ['a missing required field', '{"model":"gpt-4o"}', 'messages'],
    [
      'a wrong role',
      '{"model":"gpt-4o","messages":[{"role":"user","content":"a"},{"role":"wizard","content":"b"}]}',
      'messages[1].role',
    ],
    [
      'a wrong type',
      '{"model":"gpt-4o","messages":[{"role":"user","content":"a"}],"temperature":"hot"}',
      'temperature',
    ],
    [
      'a cross-field rule (tool_choice without tools)',
      '{"model":"gpt-4o","messages":[{"role":"user","content":"a"}],"tool_choice":"required"}',
      'tool_choice',
    ],
  ] as const) {
    test(`${name} → 422 naming param ${param}; next is not called`, async () => {
      const { ctx, error, calls } = await decode(raw);
      assert.ok(error instanceof ValidationError, String(error));
      assert.equal(error.status, 422);
      assert.equal(error.code, 'invalid_request');
      assert.equal(error.param, param);
      assert.equal(calls.length, 0);
      assert.equal(ctx.request, null);
    });
  }
});

describe('resolve stage', () => {
  function principal(allowed: string[] | null): Principal {
    return { userId: 'alice', keyId: 'k1', tier: 'free', allowedModels: allowed ? new Set(allowed) : null };
  }

  async function resolve(model: string, who: Principal | null, clock = fakeClock(), using = resolver) {
    const ctx = chatContext(clock, { model });
    ctx.principal = who;
    const { next, calls } = recordingNext(answer);
    let error: unknown = null;
    try {
      await resolveStage(using, clock).run(ctx, next);
    } catch (err) {
      error = err;
    }
    return { ctx, error, calls };
  }

  test('a known alias: ctx.route is its route, in configured order; next runs', async () => {
    const { ctx, error, calls } = await resolve('smart', principal(null));
    assert.equal(error, null);
    assert.equal(calls.length, 1);
    assert.equal(ctx.route?.name, 'smart');
    assert.equal(ctx.route?.kind, 'alias');
    assert.deepEqual(
      ctx.route?.deployments.map((d) => d.id),
      ['anthropic/claude-sonnet-4-5', 'openai/gpt-4o'],
    );
  });

  test('a model the key may use resolves; a prefix-routed model too', async () => {
    const { ctx, error } = await resolve('gpt-4o-mini', principal(['smart', 'gpt-4o-mini']));
    assert.equal(error, null);
    assert.equal(ctx.route?.kind, 'prefix');
    assert.equal(ctx.route?.deployments[0]?.provider, 'openai');
  });

  test('a model the key may not use → 403 model_not_allowed (param model); nothing resolved, next not called', async () => {
    const { ctx, error, calls } = await resolve('gpt-4o', principal(['smart']));
    assert.ok(error instanceof PermissionDeniedError, String(error));
    assert.equal(error.status, 403);
    assert.equal(error.code, 'model_not_allowed');
    assert.equal(error.param, 'model');
    assert.equal(ctx.route, null);
    assert.equal(calls.length, 0);
  });

  test('the permission check comes first: a forbidden unknown model is a 403, not a 400', async () => {
    const { error } = await resolve('no-such-model', principal(['smart']));
    assert.ok(error instanceof GatewayError);
    assert.equal(error.status, 403);
  });

  test('an unknown model → 400 model_not_found (param model); next not called', async () => {
    const { ctx, error, calls } = await resolve('no-such-model', principal(null));
    assert.ok(error instanceof BadRequestError, String(error));
    assert.equal(error.status, 400);
    assert.equal(error.code, 'model_not_found');
    assert.equal(error.param, 'model');
    assert.equal(ctx.route, null);
    assert.equal(calls.length, 0);
  });

  test('a provider without a key → 400 provider_not_configured', async () => {
    const { error, calls } = await resolve('gemini-2.5-flash', principal(null));
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.code, 'provider_not_configured');
    assert.equal(calls.length, 0);
  });

  test('the resolution is timed on the injected clock (timings.resolve)', async () => {
    const clock = fakeClock();
    // The real resolver, taking 7 ms of the fake clock's time.
    const slow = {
      resolve(model: string) {
        advance(clock, 7);
        return resolver.resolve(model);
      },
    } as unknown as ModelResolver;
    const { ctx, error } = await resolve('smart', principal(null), clock, slow);
    assert.equal(error, null);
    assert.equal(ctx.route?.name, 'smart');
    assert.ok(
      ctx.timings.resolve >= 7 && ctx.timings.resolve < 1_007,
      `timings.resolve = ${ctx.timings.resolve}`,
    );
  });
});
