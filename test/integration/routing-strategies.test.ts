/**
 * Routing strategies through a real gateway, each deployment a mock upstream on its own port: how many
 * requests each deployment gets (round_robin, weighted), which one is chosen (cost, latency, quality).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { type FakeClock, fakeClock } from '../helpers/fake-clock.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { ADMIN_KEY, adminRoutes, startMocks } from '../helpers/routing.js';

const PROBE_INTERVAL_MS = 10_000;

let mocks: MockUpstream[];
/** The latency route's second deployment answers after a fixed delay. */
let slowish: MockUpstream;
let gw: TestGateway;
let clock: FakeClock;

const deployment = (name: string, m: MockUpstream, extra = '') =>
  `      - { name: ${name}, provider: openai, model: model-${name}, base_url: "${m.url}/v1"${extra} }`;

before(async () => {
  mocks = await startMocks(3);
  [slowish] = (await startMocks(1, { firstByteMs: 120 })) as [MockUpstream];
  const [m0, m1, m2] = mocks as [MockUpstream, MockUpstream, MockUpstream];
  clock = fakeClock({ seed: 7 });
  gw = await startGateway({
    mock: m0,
    clock,
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'none' },
    yaml: `
routing:
  latency: { ewma_alpha: 1, probe_interval_ms: ${PROBE_INTERVAL_MS}, epsilon: 0 }
routes:
  rr:
    strategy: round_robin
    deployments:
${deployment('r0', m0)}
${deployment('r1', m1)}
${deployment('r2', m2)}
  weighted:
    strategy: weighted
    deployments:
${deployment('heavy', m0, ', weight: 3')}
${deployment('light', m1, ', weight: 1')}
  cheap:
    strategy: cost
    deployments:
${deployment('dear', m0, ', input_cost_per_mtok: 5, output_cost_per_mtok: 15')}
${deployment('unpriced', m2)}
${deployment('bargain', m1, ', input_cost_per_mtok: 0.15, output_cost_per_mtok: 0.6')}
  best:
    strategy: quality
    deployments:
${deployment('good', m0, ', rank: 2')}
${deployment('great', m1, ', rank: 1')}
  fast:
    strategy: latency
    deployments:
${deployment('flaky', m2)}
${deployment('steady', slowish)}
`,
  });
});
after(async () => {
  await gw.close();
  await Promise.all([...mocks, slowish].map((m) => m.close()));
});

/**
 * Sends `n` requests to `model`, `concurrency` at a time, and counts which deployment (X-Model) served each;
 * `order` is the serving order when `concurrency` is 1.
 */
async function tally(model: string, n: number, body: Record<string, unknown> = {}, concurrency = 1) {
  const counts: Record<string, number> = {};
  const order: string[] = [];
  const one = async () => {
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), ...body });
    assert.equal(res.status, 200, await res.text());
    const served = (res.headers.get('x-model') ?? '?').replace(/^model-/, '');
    counts[served] = (counts[served] ?? 0) + 1;
    order.push(served);
  };
  for (let sent = 0; sent < n; sent += concurrency) {
    await Promise.all(Array.from({ length: Math.min(concurrency, n - sent) }, one));
  }
  return { counts, order };
}

describe('strategies', () => {
  test('round_robin spreads requests evenly over the deployments', async () => {
    const { order } = await tally('rr', 4);
    assert.deepEqual(order, ['r0', 'r1', 'r2', 'r0']);
    const { counts } = await tally('rr', 300, {}, 13);
    assert.deepEqual(counts, { r0: 100, r1: 100, r2: 100 }, 'exactly even, whatever the concurrency');
  });

  test('weighted 3:1 sends about three quarters to the heavier deployment', async () => {
    const n = 400;
    const { counts } = await tally('weighted', n, {}, 16);
    const share = (counts.heavy ?? 0) / n;
    // Expected 0.75; the standard deviation over 400 draws is ~0.022, so ±0.08 is beyond 3.5 sigma.
    assert.ok(share > 0.67 && share < 0.83, `heavy share ${share}`);
    assert.equal((counts.heavy ?? 0) + (counts.light ?? 0), n);
  });

  test('cost picks the cheapest deployment for the request', async () => {
    const { counts } = await tally('cheap', 10, { max_tokens: 500 });
    assert.deepEqual(counts, { bargain: 10 });
  });

  test('quality picks the best-ranked deployment', async () => {
    const { counts } = await tally('best', 5);
    assert.deepEqual(counts, { great: 5 });
  });

  test('latency prefers the fast deployment and re-probes a slow one that recovered', async () => {
    const [, , flakyMock] = mocks as [MockUpstream, MockUpstream, MockUpstream];
    // First contact: `flaky` is slow (400 ms), `steady` answers in ~120 ms. Each is measured once.
    flakyMock.enqueue({ kind: 'delay', ms: 400 });
    const first = await tally('fast', 2);
    assert.deepEqual(first.order, ['flaky', 'steady'], 'each unmeasured deployment is tried once');
    const settled = await tally('fast', 4);
    assert.deepEqual(settled.counts, { steady: 4 }, 'the faster one takes the traffic');

    // `flaky` recovered (no more delay). After the probe interval it gets one request, is measured fast, and
    // takes the traffic back; `steady`, also unmeasured for the interval, gets its own probe once.
    clock.advance(PROBE_INTERVAL_MS);
    const after = await tally('fast', 5);
    assert.deepEqual(after.order, ['flaky', 'steady', 'flaky', 'flaky', 'flaky']);
    const fast = (await adminRoutes(gw.url)).routes.find((r) => r.name === 'fast');
    const [flaky, steady] = fast?.deployments ?? [];
    assert.ok((flaky?.latency_ms ?? Infinity) < (steady?.latency_ms ?? 0), JSON.stringify(fast));
  });
});
