import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { GatewayRateLimitError } from '../errors.js';
import { createContext } from './context.js';
import { HookRunner, type RequestHook } from './hooks.js';

function ctx() {
  return createContext('req-1', pino({ level: 'silent' }), 0);
}

describe('HookRunner', () => {
  it('admits in order, lets hooks set headers in respond, and finishes once', async () => {
    const calls: string[] = [];
    const hook = (name: string): RequestHook => ({
      name,
      admit: () => void calls.push(`admit:${name}`),
      respond: (c) => {
        calls.push(`respond:${name}`);
        c.responseHeaders[`x-${name}`] = '1';
      },
      finish: (_c, outcome) => void calls.push(`finish:${name}:${outcome.status}`),
    });
    const runner = new HookRunner([hook('a'), hook('b')], () => assert.fail('no error expected'));
    const c = ctx();
    await runner.admit(c);
    runner.respond(c);
    runner.finish(c, { status: 200, error: null, complete: true });
    runner.finish(c, { status: 200, error: null, complete: true });
    assert.deepEqual(calls, ['admit:a', 'admit:b', 'respond:a', 'respond:b', 'finish:a:200', 'finish:b:200']);
    assert.deepEqual(c.responseHeaders, { 'x-a': '1', 'x-b': '1' });
  });

  it('a refusal stops later admits; only hooks that admitted (or never admit) get finish', async () => {
    const finished: string[] = [];
    const runner = new HookRunner(
      [
        { name: 'limit', admit: () => {}, finish: () => void finished.push('limit') },
        {
          name: 'budget',
          admit: () => {
            throw new GatewayRateLimitError('over', 1000, 'budget_exceeded');
          },
          finish: () => void finished.push('budget'),
        },
        { name: 'later', admit: () => {}, finish: () => void finished.push('later') },
        { name: 'metrics', finish: () => void finished.push('metrics') },
      ],
      () => {},
    );
    const c = ctx();
    await assert.rejects(runner.admit(c), /over/);
    runner.finish(c, { status: 429, error: null, complete: false });
    assert.deepEqual(finished, ['limit', 'budget', 'metrics']);
  });

  it('a throwing finish hook is reported and does not stop the others', () => {
    const errors: string[] = [];
    const done: string[] = [];
    const runner = new HookRunner(
      [
        {
          name: 'bad',
          finish: () => {
            throw new Error('boom');
          },
        },
        { name: 'good', finish: () => void done.push('good') },
      ],
      (name) => errors.push(name),
    );
    runner.finish(ctx(), { status: 200, error: null, complete: true });
    assert.deepEqual(errors, ['bad']);
    assert.deepEqual(done, ['good']);
  });
});
