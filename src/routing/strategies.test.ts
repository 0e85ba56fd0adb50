import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PriceTable } from '../accounting/pricing.js';
import type { ProviderAdapter } from '../providers/types.js';
import { LatencyTracker } from './latency.js';
import type { Deployment } from './resolver.js';
import { createStrategy, type PriceLookup, type RoutingRequest, type StrategyDeps } from './strategies.js';

const adapter = {} as ProviderAdapter;
const dep = (id: string, extra: Partial<Deployment> = {}): Deployment => ({
  id,
  provider: 'openai',
  model: id,
  adapter,
  weight: 1,
  priority: 0,
  ...extra,
});

function deps(overrides: Partial<StrategyDeps> = {}): StrategyDeps & { advance(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    random: Math.random,
    latency: new LatencyTracker(0.5),
    prices: () => null,
    epsilon: 0,
    probeIntervalMs: 10_000,
    advance(ms) {
      now += ms;
    },
    ...overrides,
  };
}

const request = (input = 1000, output = 100, stream = false): RoutingRequest => ({
  stream,
  tokens: () => ({ input, output }),
});
const ids = (list: readonly Deployment[]) => list.map((d) => d.id);

describe('strategies', () => {
  const a = dep('a');
  const b = dep('b');
  const c = dep('c');

  test('failover keeps priority order', () => {
    const s = createStrategy('failover', [a, b, c], deps());
    assert.deepEqual(ids(s.order(request())), ['a', 'b', 'c']);
  });

  test('round_robin rotates the first deployment; the rest follow as fallbacks', () => {
    const s = createStrategy('round_robin', [a, b, c], deps());
    assert.deepEqual(
      [1, 2, 3, 4].map(() => ids(s.order(request()))),
      [
        ['a', 'b', 'c'],
        ['b', 'c', 'a'],
        ['c', 'a', 'b'],
        ['a', 'b', 'c'],
      ],
    );
  });

  test('weighted draws the first deployment by weight; weight 0 is a fallback only', () => {
    let r = 0;
    const s = createStrategy(
      'weighted',
      [dep('a', { weight: 3 }), dep('b', { weight: 1 }), dep('z', { weight: 0 })],
      deps({ random: () => r }),
    );
    r = 0.74; // 0.74 · 4 = 2.96 < 3 → a
    assert.deepEqual(ids(s.order(request())), ['a', 'b', 'z']);
    r = 0.76; // 3.04 → b
    assert.deepEqual(ids(s.order(request())), ['b', 'a', 'z']);
    r = 0.999;
    assert.equal(ids(s.order(request()))[0], 'b');
  });

  test('cost: cheapest for the estimated tokens; override beats the table; unpriced last', () => {
    const table: PriceLookup = (model) =>
      ({
        big: { input: 10, output: 30 },
        small: { input: 0.15, output: 0.6 },
        ratio: { input: 0.1, output: 20 },
      })[model] ?? null;
    const big = dep('big');
    const small = dep('small');
    const unknown = dep('unknown');
    const cheapSelfHosted = dep('big-self', { model: 'big', inputCostPerMtok: 0, outputCostPerMtok: 0 });
    const s = createStrategy('cost', [unknown, big, small, cheapSelfHosted], deps({ prices: table }));
    assert.deepEqual(ids(s.order(request())), ['big-self', 'small', 'big', 'unknown']);
    // A different token mix changes the order: `ratio` is cheap to read, dear to write.
    const mix = createStrategy('cost', [small, dep('ratio')], deps({ prices: table }));
    assert.deepEqual(ids(mix.order(request(100_000, 10))), ['ratio', 'small']);
    assert.deepEqual(ids(mix.order(request(10, 10_000))), ['small', 'ratio']);
  });

  test('cost: a provider-qualified price override applies to routing, as accounting bills it', () => {
    const table = new PriceTable({ 'up5/qualmodel': { input: 0.001, output: 0.001 } });
    const prices: PriceLookup = (model, provider) => table.priceOf(model, provider);
    const dear = dep('dear', { provider: 'up1', model: 'gpt-4.1-mini' });
    const cheap = dep('cheap', { provider: 'up5', model: 'qualmodel' });
    const elsewhere = dep('elsewhere', { provider: 'up6', model: 'qualmodel' });
    const s = createStrategy('cost', [dear, elsewhere, cheap], deps({ prices }));
    assert.deepEqual(ids(s.order(request())), ['cheap', 'dear', 'elsewhere']);
  });

  test('quality orders by rank; unranked last', () => {
    const s = createStrategy('quality', [dep('x'), dep('y', { rank: 2 }), dep('z', { rank: 1 })], deps());
    assert.deepEqual(ids(s.order(request())), ['z', 'y', 'x']);
  });

  test('latency: tries each unmeasured deployment, then prefers the lowest EWMA', () => {
    const d = deps();
    const s = createStrategy('latency', [a, b], d);
    assert.equal(ids(s.order(request()))[0], 'a', 'never measured: probe');
    d.latency.observe('a', 'latency', 500, d.now());
    assert.equal(ids(s.order(request()))[0], 'b', 'b never measured: probe');
    d.latency.observe('b', 'latency', 50, d.now());
    assert.deepEqual(ids(s.order(request())), ['b', 'a']);
  });

  test('latency: streams compare time to first token', () => {
    const d = deps();
    const s = createStrategy('latency', [a, b], d);
    d.latency.observe('a', 'latency', 100, 0);
    d.latency.observe('a', 'ttft', 900, 0);
    d.latency.observe('b', 'latency', 300, 0);
    d.latency.observe('b', 'ttft', 40, 0);
    assert.deepEqual(ids(s.order(request(1, 1, false))), ['a', 'b']);
    assert.deepEqual(ids(s.order(request(1, 1, true))), ['b', 'a']);
  });

  test('latency: a deployment not measured for the probe interval gets one request, then waits again', () => {
    const d = deps();
    const s = createStrategy('latency', [a, b], d);
    d.latency.observe('a', 'latency', 900, 0);
    d.latency.observe('b', 'latency', 50, 0);
    d.advance(5_000);
    d.latency.observe('b', 'latency', 50, d.now());
    assert.equal(ids(s.order(request()))[0], 'b');
    d.advance(5_000);
    assert.equal(ids(s.order(request()))[0], 'a', 'a is due for a probe');
    assert.equal(ids(s.order(request()))[0], 'b', 'one probe per interval, not a burst');
    // The probe found a recovered a; with alpha 0.5 five samples bring 900 ms under b's 50 ms.
    for (let i = 0; i < 5; i++) d.latency.observe('a', 'latency', 10, d.now());
    assert.equal(ids(s.order(request()))[0], 'a', 'recovered and now fastest');
  });

  test('latency: epsilon exploration puts another deployment first', () => {
    const rolls = [0.01, 0.0];
    const d = deps({ epsilon: 0.05, random: () => rolls.shift() ?? 0.99 });
    const s = createStrategy('latency', [a, b, c], d);
    for (const [id, ms] of [
      ['a', 10],
      ['b', 20],
      ['c', 30],
    ] as const)
      d.latency.observe(id, 'latency', ms, 0);
    assert.equal(ids(s.order(request()))[0], 'b', 'explored');
    assert.equal(ids(s.order(request()))[0], 'a', 'exploited');
  });
});
