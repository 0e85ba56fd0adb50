import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NotFoundError, ServiceUnavailableError } from '../core/errors.js';
import type { ExperimentStore } from '../experiments/store.js';
import { PromptResolver } from './resolver.js';
import { PromptNotFoundError, type PromptStore } from './store.js';

function setup() {
  const state = { now: 0, down: false, label: 1 as number | null, reads: 0 };
  const fail = () => {
    state.reads++;
    if (state.down) throw new Error('connection refused');
  };
  const prompts = {
    label: async (id: string) => {
      fail();
      if (id === 'missing') throw new PromptNotFoundError(`No prompt '${id}'.`);
      return { version: state.label, archived: false };
    },
    version: async (id: string, version: number) => {
      fail();
      return {
        id,
        version,
        messages: [{ role: 'user', content: 'v{{n}}' }],
        variables: { n: { type: 'number', required: true } },
        model: null,
        params: {},
        note: null,
        createdAt: '',
      };
    },
  } as unknown as PromptStore;
  const errors: unknown[] = [];
  const resolver = new PromptResolver(prompts, {} as ExperimentStore, {
    ttlMs: 5000,
    maxCached: 10,
    clock: { now: () => state.now },
    onError: (err) => errors.push(err),
  });
  return { state, resolver, errors };
}

describe('prompt resolver', () => {
  test('labels are cached for the TTL; forgetPrompt drops them at once', async () => {
    const { state, resolver } = setup();
    assert.equal(await resolver.labelVersion('p', 'production'), 1);
    state.label = 2;
    state.now = 4999;
    assert.equal(await resolver.labelVersion('p', 'production'), 1, 'cached');
    state.now = 5000;
    assert.equal(await resolver.labelVersion('p', 'production'), 2, 'expired, read again');
    state.label = 3;
    resolver.forgetPrompt('p');
    assert.equal(await resolver.labelVersion('p', 'production'), 3);
  });

  test('compiled versions are read once', async () => {
    const { state, resolver } = setup();
    const first = await resolver.compiled('p', 4);
    const reads = state.reads;
    state.now = 1_000_000;
    const again = await resolver.compiled('p', 4);
    assert.equal(again, first);
    assert.equal(state.reads, reads + 1, 'only the archive flag is read again after its TTL');
    assert.deepEqual(again.compiled.render({ n: 7 }), [{ role: 'user', content: 'v7' }]);
  });

  test('database down: an expired entry is served; with nothing cached, 503; unknown prompt, 404', async () => {
    const { state, resolver, errors } = setup();
    assert.equal(await resolver.labelVersion('p', 'production'), 1);
    state.down = true;
    state.now = 10_000;
    assert.equal(await resolver.labelVersion('p', 'production'), 1, 'stale');
    await assert.rejects(resolver.labelVersion('q', 'production'), ServiceUnavailableError);
    assert.equal(errors.length, 2);
    state.down = false;
    await assert.rejects(resolver.labelVersion('missing', 'production'), NotFoundError);
    state.label = null;
    await assert.rejects(resolver.labelVersion('r', 'production'), /has no label 'production'/);
  });
});
