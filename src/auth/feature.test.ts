import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { advance, completion, recordingNext, stageContext } from '../../test/helpers/stage.js';
import { AuthenticationError, ServiceUnavailableError, ValidationError } from '../core/errors.js';
import { completionResult } from '../core/result.js';
import { authenticateStage } from './feature.js';
import {
  type Authenticator,
  type AuthInput,
  bearer,
  createOpenAuthenticator,
  type Principal,
} from './principal.js';

const answer = () => completionResult(completion('hi'), 'upstream', null);

const ALICE: Principal = {
  userId: 'alice',
  keyId: 'key-alice',
  tier: 'pro',
  allowedModels: new Set(['smart']),
};

/**
 * TEST DOUBLE of the key store: `sk-alice` is Alice's key (found after a database lookup of `lookupMs`,
 * as a promise), anything else is a 401. Records what it was asked.
 */
function keyAuthenticator(clock: ReturnType<typeof fakeClock>, lookupMs = 0) {
  const inputs: AuthInput[] = [];
  const authenticator: Authenticator = {
    mode: 'keys',
    authenticate(input) {
      inputs.push(input);
      advance(clock, lookupMs);
      if (bearer(input.authorization) !== 'sk-alice') throw new AuthenticationError();
      return Promise.resolve(ALICE);
    },
  };
  return { authenticator, inputs };
}

describe('authenticate stage', () => {
  test('auth mode none: the principal comes from X-User-ID, then next runs with it', async () => {
    const clock = fakeClock();
    const ctx = stageContext(clock, { headers: { 'x-user-id': 'bob@example.com' } });
    const seen: Array<Principal | null> = [];
    const { next, calls } = recordingNext((c) => {
      seen.push(c.principal);
      return answer();
    });
    const result = await authenticateStage(createOpenAuthenticator(), clock).run(ctx, next);
    assert.equal(calls.length, 1);
    assert.equal(calls[0], ctx);
    assert.equal(result.kind, 'json');
    assert.deepEqual(ctx.principal, {
      userId: 'bob@example.com',
      keyId: null,
      tier: 'free',
      allowedModels: null,
    });
    assert.equal(seen[0], ctx.principal, 'the principal is set before next runs');
  });

  test('auth mode none without a usable X-User-ID: anonymous', async () => {
    const clock = fakeClock();
    const ctx = stageContext(clock, { headers: { 'x-user-id': 'bad user id with spaces' } });
    await authenticateStage(createOpenAuthenticator(), clock).run(ctx, recordingNext(answer).next);
    assert.equal(ctx.principal?.userId, 'anonymous');
  });

  test('auth mode none with an X-User-ID over 128 characters: 422 naming the header', async () => {
    const clock = fakeClock();
    const ctx = stageContext(clock, { headers: { 'x-user-id': 'u'.repeat(129) } });
    const { next, calls } = recordingNext(answer);
    await assert.rejects(
      authenticateStage(createOpenAuthenticator(), clock).run(ctx, next),
      (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.status, 422);
        assert.equal(err.param, 'X-User-ID');
        return true;
      },
    );
    assert.equal(calls.length, 0);
  });

  test('a bearer key resolved by an async lookup sets the principal; the lookup is timed on the clock', async () => {
    const clock = fakeClock();
    const { authenticator, inputs } = keyAuthenticator(clock, 25);
    const ctx = stageContext(clock, {
      headers: { authorization: 'Bearer sk-alice', 'x-user-id': 'ignored' },
    });
    const { next, calls } = recordingNext(answer);
    await authenticateStage(authenticator, clock).run(ctx, next);
    assert.deepEqual(inputs, [{ authorization: 'Bearer sk-alice', userIdHeader: 'ignored', source: '' }]);
    assert.equal(ctx.principal, ALICE);
    assert.equal(calls.length, 1);
    // 25 ms skipped on the fake clock during the lookup (plus the few real microseconds the test ran).
    assert.ok(ctx.timings.auth >= 25 && ctx.timings.auth < 1_025, `timings.auth = ${ctx.timings.auth}`);
  });

  test('an unknown key is a 401 invalid_api_key; next is not called; the time spent is still recorded', async () => {
    const clock = fakeClock();
    const { authenticator } = keyAuthenticator(clock, 10);
    const ctx = stageContext(clock, { headers: { authorization: 'Bearer sk-mallory' } });
    const { next, calls } = recordingNext(answer);
    await assert.rejects(authenticateStage(authenticator, clock).run(ctx, next), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
    assert.equal(calls.length, 0);
    assert.equal(ctx.principal, null);
    assert.ok(ctx.timings.auth >= 10, `timings.auth = ${ctx.timings.auth}`);
  });

  test('a missing Authorization header reaches the authenticator as undefined and is refused', async () => {
    const clock = fakeClock();
    const { authenticator, inputs } = keyAuthenticator(clock);
    const ctx = stageContext(clock);
    const { next, calls } = recordingNext(answer);
    await assert.rejects(authenticateStage(authenticator, clock).run(ctx, next), AuthenticationError);
    assert.deepEqual(inputs, [{ authorization: undefined, userIdHeader: undefined, source: '' }]);
    assert.equal(calls.length, 0);
  });

  test('a lookup that rejects (key database down) fails the request without calling next', async () => {
    const clock = fakeClock();
    const authenticator: Authenticator = {
      mode: 'keys',
      authenticate: () => Promise.reject(new ServiceUnavailableError('key database unavailable')),
    };
    const ctx = stageContext(clock, { headers: { authorization: 'Bearer sk-new' } });
    const { next, calls } = recordingNext(answer);
    await assert.rejects(
      authenticateStage(authenticator, clock).run(ctx, next),
      (err: unknown) => err instanceof ServiceUnavailableError && err.status === 503,
    );
    assert.equal(calls.length, 0);
    assert.equal(ctx.principal, null);
  });
});
