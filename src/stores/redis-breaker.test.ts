import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import { type BreakerState, RedisBreaker } from './redis-breaker.js';

function setup(probeAnswers: boolean[] = []) {
  const clock = fakeClock();
  const changes: string[] = [];
  let probes = 0;
  const pending: Array<(ok: boolean) => void> = [];
  const breaker = new RedisBreaker({
    failureThreshold: 3,
    cooldownMs: 1000,
    clock,
    probe() {
      probes++;
      const answer = probeAnswers.shift();
      if (answer !== undefined) return Promise.resolve(answer);
      return new Promise<boolean>((resolve) => pending.push(resolve));
    },
    onChange: (to: BreakerState, from: BreakerState) => void changes.push(`${from}>${to}`),
  });
  return { clock, breaker, changes, probes: () => probes, pending };
}

const settle = () => new Promise((r) => setImmediate(r));

test('opens after consecutive failures only; a success in between resets the count', () => {
  const { breaker, changes } = setup();
  breaker.record(false);
  breaker.record(false);
  breaker.record(true);
  breaker.record(false);
  breaker.record(false);
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow(), true);
  breaker.record(false);
  assert.equal(breaker.state, 'open');
  assert.deepEqual(changes, ['closed>open']);
});

test('open: every call is skipped for the cool-down, and no probe is sent before it ends', () => {
  const { clock, breaker, probes } = setup();
  for (let i = 0; i < 3; i++) breaker.record(false);
  for (let i = 0; i < 100; i++) assert.equal(breaker.allow(), false);
  clock.advance(500);
  assert.equal(breaker.allow(), false);
  assert.equal(probes(), 0);
});

test('after the cool-down one background probe runs; callers keep skipping until it answers', async () => {
  const { clock, breaker, probes, pending, changes } = setup();
  for (let i = 0; i < 3; i++) breaker.record(false);
  clock.advance(1000);
  assert.equal(breaker.allow(), false, 'the probe is not a request: the caller still goes without Redis');
  assert.equal(breaker.state, 'half_open');
  for (let i = 0; i < 10; i++) assert.equal(breaker.allow(), false);
  assert.equal(probes(), 1, 'one probe at a time');
  pending[0]?.(true);
  await settle();
  assert.equal(breaker.state, 'closed');
  assert.equal(breaker.allow(), true);
  assert.deepEqual(changes, ['closed>open', 'open>half_open', 'half_open>closed']);
});

test('a failed probe opens it for another whole cool-down', async () => {
  const { clock, breaker, probes } = setup([false, true]);
  for (let i = 0; i < 3; i++) breaker.record(false);
  clock.advance(1000);
  breaker.allow();
  await settle();
  assert.equal(breaker.state, 'open');
  clock.advance(500);
  assert.equal(breaker.allow(), false);
  assert.equal(probes(), 1);
  clock.advance(500);
  breaker.allow();
  await settle();
  assert.equal(probes(), 2);
  assert.equal(breaker.state, 'closed');
});

test('late answers of commands sent before it opened do not close it (only the probe does)', () => {
  const { breaker } = setup();
  for (let i = 0; i < 3; i++) breaker.record(false);
  breaker.record(true);
  breaker.record(true);
  assert.equal(breaker.state, 'open');
});

test('a closed breaker needs the full count again after recovering', async () => {
  const { clock, breaker } = setup([true]);
  for (let i = 0; i < 3; i++) breaker.record(false);
  clock.advance(1000);
  breaker.allow();
  await settle();
  assert.equal(breaker.state, 'closed');
  breaker.record(false);
  breaker.record(false);
  assert.equal(breaker.state, 'closed');
});
