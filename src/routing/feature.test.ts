import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Agent } from 'undici';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { chatContext, completion, recordingNext, unitDeps } from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import { completionResult } from '../core/result.js';
import { ProviderRegistry } from '../providers/registry.js';
import { createRoutingFeature } from './feature.js';
import { type Deployment, ModelResolver } from './resolver.js';

const dispatcher = new Agent();
after(() => dispatcher.close());

const ENV = {
  OPENAI_API_KEY: 'sk-fake-openai-0000000000',
  ANTHROPIC_API_KEY: 'sk-ant-fake-0000000000',
  TOGETHER_API_KEY: 'together-fake-0000000000',
};
const config = loadConfig({
  env: ENV,
  yamlText: `
routes:
  chain:
    deployments:
      - { provider: anthropic, model: claude-sonnet-4-5, priority: 2 }
      - { provider: openai, model: gpt-4o, priority: 1 }
      - { provider: together, model: meta-llama/Llama-3.3-70B-Instruct-Turbo, priority: 3 }
  rotate:
    strategy: round_robin
    deployments:
      - { name: a, provider: openai, model: gpt-4o-mini }
      - { name: b, provider: anthropic, model: claude-3-5-haiku-latest }
      - { name: c, provider: together, model: meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo }
  best:
    strategy: quality
    deployments:
      - { name: ok, provider: openai, model: gpt-4o-mini, rank: 2 }
      - { name: top, provider: anthropic, model: claude-sonnet-4-5, rank: 1 }
      - { name: unranked, provider: together, model: meta-llama/Llama-3.3-70B-Instruct-Turbo }
`,
});
const resolver = new ModelResolver(config, new ProviderRegistry(config.providers, ENV, { dispatcher }));
const answer = () => completionResult(completion('hi'), 'upstream', null);
const ids = (plan: readonly Deployment[] | null) => plan?.map((d) => d.id) ?? null;

function setup() {
  const clock = fakeClock();
  const routing = createRoutingFeature(config.routing, unitDeps(clock), resolver);
  return { clock, routing };
}

/** Runs the route stage for `model` (resolved as the resolve stage would); returns ctx.plan's ids. */
async function plan(s: ReturnType<typeof setup>, model: string) {
  const ctx = chatContext(s.clock, { model });
  ctx.route = resolver.resolve(model);
  const { next, calls } = recordingNext((c) => {
    assert.ok(c.plan, 'the plan is set before next runs');
    return answer();
  });
  await s.routing.route.run(ctx, next);
  assert.equal(calls.length, 1);
  return ids(ctx.plan);
}

describe('route stage', () => {
  test('failover: ctx.plan is the route’s own order (priority)', async () => {
    const s = setup();
    const expected = [
      'openai/gpt-4o',
      'anthropic/claude-sonnet-4-5',
      'together/meta-llama/Llama-3.3-70B-Instruct-Turbo',
    ];
    assert.deepEqual(ids(resolver.resolve('chain').deployments), expected);
    assert.deepEqual(await plan(s, 'chain'), expected);
    assert.deepEqual(await plan(s, 'chain'), expected, 'the same for every request');
  });

  test('round_robin: each request starts one deployment further, the rest follow as fallbacks', async () => {
    const s = setup();
    assert.deepEqual(
      [await plan(s, 'rotate'), await plan(s, 'rotate'), await plan(s, 'rotate'), await plan(s, 'rotate')],
      [
        ['a', 'b', 'c'],
        ['b', 'c', 'a'],
        ['c', 'a', 'b'],
        ['a', 'b', 'c'],
      ],
    );
  });

  test('quality: best rank first, unranked last', async () => {
    assert.deepEqual(await plan(setup(), 'best'), ['top', 'ok', 'unranked']);
  });

  test('a single-deployment route: the plan is that deployment', async () => {
    assert.deepEqual(await plan(setup(), 'gpt-4o-mini'), ['openai/gpt-4o-mini']);
  });

  test('the route itself is not reordered (plans are per request)', async () => {
    const s = setup();
    await plan(s, 'rotate');
    await plan(s, 'rotate');
    assert.deepEqual(ids(resolver.resolve('rotate').deployments), ['a', 'b', 'c']);
  });

  test('no route (nothing resolved): no plan, next still runs', async () => {
    const s = setup();
    const ctx = chatContext(s.clock);
    const { next, calls } = recordingNext(answer);
    await s.routing.route.run(ctx, next);
    assert.equal(ctx.plan, null);
    assert.equal(calls.length, 1);
  });
});
