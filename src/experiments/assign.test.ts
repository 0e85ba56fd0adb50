import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assignVariant, stickyKey } from './assign.js';

const experiment = {
  id: 'exp-split',
  variants: [
    { name: 'a', weight: 50 },
    { name: 'b', weight: 50 },
  ],
  holdout: 0,
};

describe('experiment assignment', () => {
  test('2,000 end users split 50/50 within ±4 %, each always on the same variant', () => {
    const counts = { a: 0, b: 0 };
    const first = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const key = stickyKey('user', {
        user: `user-${i}`,
        userHeader: undefined,
        sessionHeader: undefined,
        key: 'k',
      });
      const variant = assignVariant(experiment, key)?.name as 'a' | 'b';
      counts[variant]++;
      first.set(key, variant);
    }
    for (const name of ['a', 'b'] as const) {
      assert.ok(Math.abs(counts[name] / 2000 - 0.5) <= 0.04, `${name}: ${counts[name]} of 2000`);
    }
    // Asking again (another request of each user) gives the same variant.
    for (const [key, variant] of first) assert.equal(assignVariant(experiment, key)?.name, variant);
  });

  test('weights and holdout shape the split', () => {
    const weighted = {
      id: 'exp-weighted',
      variants: [
        { name: 'a', weight: 9 },
        { name: 'b', weight: 1 },
      ],
      holdout: 0.2,
    };
    const counts = new Map<string, number>();
    for (let i = 0; i < 10_000; i++) {
      const name = assignVariant(weighted, `user:${i}`)?.name ?? 'holdout';
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    assert.ok(Math.abs((counts.get('holdout') ?? 0) / 10_000 - 0.2) < 0.02);
    assert.ok(Math.abs((counts.get('a') ?? 0) / 10_000 - 0.72) < 0.02);
    assert.ok(Math.abs((counts.get('b') ?? 0) / 10_000 - 0.08) < 0.02);
  });

  test('the sticky key: user field, then X-User-ID, then the key; sessions by X-Session-ID', () => {
    const s = { user: 'u1', userHeader: 'h1', sessionHeader: 's1', key: 'k1' };
    assert.equal(stickyKey('user', s), 'user:u1');
    assert.equal(stickyKey('user', { ...s, user: undefined }), 'user:h1');
    assert.equal(stickyKey('user', { ...s, user: undefined, userHeader: undefined }), 'key:k1');
    assert.equal(stickyKey('session', s), 'session:s1');
    assert.equal(stickyKey('session', { ...s, sessionHeader: undefined }), 'user:u1');
  });
});
