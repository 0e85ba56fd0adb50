import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { stageContext } from '../../test/helpers/stage.js';
import type { RequestContext } from '../core/context.js';
import { NotFoundError, ValidationError } from '../core/errors.js';
import { completionResult } from '../core/result.js';
import { createChatCodec, createChatValidator } from '../endpoints/chat/codec.js';
import { createSchemaCompiler } from '../endpoints/compile.js';
import type { Experiment } from '../experiments/assign.js';
import type { ExperimentStore } from '../experiments/store.js';
import type { ChatRequest } from '../providers/types.js';
import { PromptResolver } from './resolver.js';
import { PROMPT_SERVED } from './served.js';
import { promptStage, withVersionParams } from './stage.js';
import { PromptNotFoundError, type PromptStore, type PromptVersion } from './store.js';
import { declareVariables } from './template.js';

const clock = fakeClock();
const compile = createSchemaCompiler();
const codec = createChatCodec(compile);

function version(n: number, model: string | null): PromptVersion {
  const messages = [{ role: 'system' as const, content: `v${n}: answer in {{language}}` }];
  return {
    id: 'p',
    version: n,
    messages,
    variables: declareVariables(undefined, messages),
    model,
    params: n === 3 ? { temperature: 0.3, max_completion_tokens: 5 } : { temperature: 0.1 * n },
    note: null,
    createdAt: '',
  };
}

const experiments: Record<string, Experiment> = {
  split: {
    id: 'split',
    status: 'running',
    variants: [
      { name: 'one', weight: 50, prompt: { id: 'p', version: 1 } },
      { name: 'two', weight: 50, prompt: { id: 'p', version: 2 }, model: 'gpt-4o' },
    ],
    sticky_by: 'user',
    holdout: 0,
    prompt_id: null,
    label: null,
  },
  // Variants of `p`, with a holdout: a request naming another prompt must not be served p.
  'p-only': {
    id: 'p-only',
    status: 'stopped',
    variants: [{ name: 'only', weight: 1, prompt: { id: 'p', version: 2 } }],
    sticky_by: 'user',
    holdout: 0.5,
    prompt_id: null,
    label: null,
  },
  held: {
    id: 'held',
    status: 'running',
    variants: [{ name: 'two', weight: 1, prompt: { id: 'p', version: 2 } }],
    sticky_by: 'session',
    holdout: 0.5,
    prompt_id: null,
    label: null,
  },
};

/** Stored before creation checked it: attached to p@canary, its variant serving another prompt. */
const stale: Experiment = {
  id: 'stale',
  status: 'running',
  variants: [{ name: 'q', weight: 1, prompt: { id: 'q', version: 1 } }],
  sticky_by: 'user',
  holdout: 0,
  prompt_id: 'p',
  label: 'canary',
};

const resolver = new PromptResolver(
  {
    version: async (_id: string, n: number) => version(n, n === 1 ? 'gpt-4o-mini' : null),
    label: async (id: string, label: string) => {
      if (id === 'nope') throw new PromptNotFoundError(`No prompt '${id}'.`);
      return { version: label === 'unset' ? null : 1, archived: false };
    },
  } as unknown as PromptStore,
  {
    get: async (id: string) => experiments[id],
    attached: async (id: string, label: string) => (id === 'p' && label === 'canary' ? stale : null),
  } as unknown as ExperimentStore,
  { ttlMs: 5000, maxCached: 100, clock, onError: () => undefined },
);
const stage = promptStage({ resolver, validate: createChatValidator(compile), clock });
const answer = completionResult(
  { id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [] },
  'upstream',
  null,
);

async function run(body: unknown, headers: Record<string, string> = {}): Promise<RequestContext> {
  const ctx = stageContext(clock, { headers });
  ctx.request = codec.decode(JSON.stringify(body));
  await stage.run(ctx, async () => answer);
  return ctx;
}

const sent = (ctx: RequestContext) => (ctx.request as { body: ChatRequest }).body;

describe('prompt stage', () => {
  test('renders and prepends; model: version, else request; params where the request sets none', async () => {
    const ctx = await run({
      model: 'ignored',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0.7,
      prompt: { id: 'p', variables: { language: 'Dutch' } },
    });
    const body = sent(ctx);
    assert.deepEqual(body.messages, [
      { role: 'system', content: 'v1: answer in Dutch' },
      { role: 'user', content: 'hi' },
    ]);
    assert.equal(body.model, 'gpt-4o-mini');
    assert.equal(body.temperature, 0.7, "the request's own wins");
    assert.equal((body as Record<string, unknown>).prompt, undefined);
    assert.equal(ctx.request?.kind === 'chat' && ctx.request.prompt, undefined);
    assert.deepEqual(PROMPT_SERVED.get(ctx), {
      promptId: 'p',
      promptVersion: 1,
      experimentId: null,
      variant: null,
    });

    const v2 = await run({
      model: 'gpt-4o-mini',
      prompt: { id: 'p', version: 2, variables: { language: 'en' } },
    });
    assert.equal(sent(v2).model, 'gpt-4o-mini', 'a version without a model keeps the request’s');
    assert.equal(sent(v2).temperature, 0.2, "the version's params");
  });

  test('2,000 requests of 500 end users under a 50/50 split: within ±4 %, each user always on one variant', async () => {
    const counts: Record<string, number> = { one: 0, two: 0 };
    const byUser = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const user = `user-${i % 500}`;
      const ctx = await run({
        messages: [],
        user,
        experiment: 'split',
        prompt: { id: 'p', variables: { language: 'en' } },
      });
      const variant = ctx.responseHeaders['x-gateway-variant'] as string;
      counts[variant] = (counts[variant] ?? 0) + 1;
      if (byUser.has(user)) assert.equal(variant, byUser.get(user), `${user} stays on one variant`);
      byUser.set(user, variant);
      // The variant decides the version and the model.
      const served = PROMPT_SERVED.get(ctx);
      assert.equal(served?.promptVersion, variant === 'one' ? 1 : 2);
      assert.equal(sent(ctx).model, variant === 'one' ? 'gpt-4o-mini' : 'gpt-4o');
    }
    for (const name of ['one', 'two']) {
      assert.ok(Math.abs((counts[name] ?? 0) / 2000 - 0.5) <= 0.04, `${name}: ${counts[name]} of 2000`);
    }
  });

  test('sticky by session (X-Session-ID); the holdout keeps the request’s own prompt', async () => {
    const seen = new Set<string>();
    for (let s = 0; s < 40; s++) {
      const headers = { 'x-session-id': `session-${s}` };
      const body = {
        model: 'gpt-4o-mini',
        messages: [],
        experiment: 'held',
        prompt: { id: 'p', label: 'production', variables: { language: 'en' } },
      };
      const first = await run(body, headers);
      const again = await run(body, headers);
      const variant = first.responseHeaders['x-gateway-variant'] as string;
      assert.equal(again.responseHeaders['x-gateway-variant'], variant);
      seen.add(variant);
      assert.equal(PROMPT_SERVED.get(first)?.promptVersion, variant === 'holdout' ? 1 : 2);
      assert.equal(PROMPT_SERVED.get(first)?.variant, variant);
    }
    assert.deepEqual(seen, new Set(['holdout', 'two']));
  });

  test('422s: a missing variable, no model anywhere, a version without a prompt id, version and label', async () => {
    const param = async (body: unknown) => {
      try {
        await run(body);
      } catch (err) {
        assert.ok(err instanceof ValidationError);
        return err.param;
      }
      assert.fail('expected a 422');
    };
    assert.equal(
      await param({ prompt: { id: 'p', version: 1, variables: {} } }),
      'prompt.variables.language',
    );
    assert.equal(await param({ prompt: { id: 'p', version: 2, variables: { language: 'en' } } }), 'model');
    assert.equal(await param({ messages: [], experiment: 'held', prompt: { version: 1 } }), 'prompt.id');
    assert.equal(await param({ prompt: { id: 'p', version: 1, label: 'x' } }), 'prompt.label');
  });

  test('a request is served the prompt it names: 404 for a missing one, 422 for an experiment of another', async () => {
    const refused = async (body: unknown, status: 404 | 422, message: RegExp) => {
      await assert.rejects(run(body), (err: unknown) => {
        assert.ok(
          status === 404 ? err instanceof NotFoundError : err instanceof ValidationError,
          String(err),
        );
        if (status === 422) assert.equal((err as ValidationError).param, 'experiment');
        assert.match((err as Error).message, message);
        return true;
      });
    };
    const mismatch = /Experiment 'split' serves prompt 'p', not the requested prompt 'other'/;
    // Every end user (whatever variant the hash would give) gets the same 422.
    for (let u = 0; u < 10; u++) {
      const body = { messages: [], user: `u${u}`, experiment: 'split', prompt: { id: 'other' } };
      await refused(body, 422, mismatch);
    }
    // Also when the experiment is stopped: the request is wrong either way.
    await refused({ messages: [], experiment: 'p-only', prompt: { id: 'other' } }, 422, /'p-only' serves/);
    // A prompt that does not exist is a 404, never the experiment's prompt.
    await refused({ messages: [], experiment: 'split', prompt: { id: 'nope' } }, 404, /No prompt 'nope'/);
    await refused({ messages: [], prompt: { id: 'nope' } }, 404, /No prompt 'nope'/);
    // A label that is not set is a 404, and an experiment attached to the label serving another prompt a 422.
    await refused({ messages: [], prompt: { id: 'p', label: 'unset' } }, 404, /no label 'unset'/);
    await refused(
      { messages: [], prompt: { id: 'p', label: 'canary' } },
      422,
      /'stale' serves prompt 'p', 'q'/,
    );
    // The experiment's own prompt, or the experiment alone, join it.
    const own = await run({
      messages: [],
      user: 'u1',
      experiment: 'split',
      prompt: { id: 'p', variables: { language: 'en' } },
    });
    assert.equal(PROMPT_SERVED.get(own)?.promptId, 'p');
    const alone = await run({
      messages: [],
      user: 'u1',
      experiment: 'split',
      prompt: { variables: { language: 'en' } },
    });
    assert.equal(PROMPT_SERVED.get(alone)?.promptId, 'p');
  });

  test("the version's params apply where the request sets none: the token limit is one setting, null is unset", async () => {
    const prompt = { id: 'p', version: 3, variables: { language: 'en' } };
    const body = async (extra: Record<string, unknown>) =>
      sent(await run({ model: 'gpt-4o-mini', messages: [], prompt, ...extra })) as unknown as Record<
        string,
        unknown
      >;
    // The request's max_tokens is its output limit: the version's max_completion_tokens does not override it.
    const own = await body({ max_tokens: 300 });
    assert.equal(own.max_tokens, 300);
    assert.equal(own.max_completion_tokens, undefined);
    assert.equal(own.temperature, 0.3);
    // Nulls mean "not set": the version's values apply, and no null goes on.
    const nulls = await body({
      temperature: null,
      max_tokens: null,
      max_completion_tokens: null,
      seed: null,
    });
    assert.equal(nulls.temperature, 0.3);
    assert.equal(nulls.max_completion_tokens, 5);
    assert.ok(!('max_tokens' in nulls), 'the null max_tokens is dropped, the version set the limit');
    assert.equal(nulls.seed, null, 'a null the version does not set stays as the client sent it');
    assert.equal((await body({})).max_completion_tokens, 5);

    // Both directions, and a version that sets both names.
    assert.deepEqual(withVersionParams({ max_tokens: 77 }, { max_completion_tokens: 10 }), {
      max_completion_tokens: 10,
    });
    assert.deepEqual(
      withVersionParams({ max_tokens: 77, temperature: 0.3 }, { max_tokens: null, temperature: 1 }),
      {
        max_tokens: 77,
        temperature: 1,
      },
    );
    assert.deepEqual(withVersionParams({ max_tokens: 7, max_completion_tokens: 8 }, {}), {
      max_tokens: 7,
      max_completion_tokens: 8,
    });
    assert.deepEqual(withVersionParams({ stop: ['x'] }, { stop: null, user: 'u' }), {
      stop: ['x'],
      user: 'u',
    });
  });

  test('a plain request passes through untouched', async () => {
    const ctx = await run({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(PROMPT_SERVED.get(ctx), undefined);
    assert.deepEqual(sent(ctx).messages, [{ role: 'user', content: 'hi' }]);
    assert.equal(ctx.responseHeaders['x-gateway-variant'], undefined);
  });
});
