/**
 * Routing through a real gateway to several mock upstreams, one per deployment (DESIGN §5): fallback,
 * circuit breakers (cool-down on a hand-moved clock), honest streams, errors naming what was tried,
 * GET /admin/routes and the routing metrics.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import type { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { expectError } from '../helpers/errors.js';
import { type FakeClock, fakeClock } from '../helpers/fake-clock.js';
import { postJson, readSseData, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { ADMIN_KEY, adminRoutes, metricValue, startMocks } from '../helpers/routing.js';

const COOLDOWN_MS = 10_000;

let a: MockUpstream;
let b: MockUpstream;
let gw: TestGateway;
let clock: FakeClock;
const chat = (body: Record<string, unknown>) =>
  postJson(`${gw.url}/v1/chat/completions`, { messages: userMessage(), ...body });

// Fresh breakers for every test: a new gateway over the same two mocks.
before(async () => {
  [a, b] = (await startMocks(2)) as [MockUpstream, MockUpstream];
});
after(async () => {
  await Promise.all([a.close(), b.close()]);
});
beforeEach(async () => {
  a.reset();
  b.reset();
  clock = fakeClock({ seed: 42 });
  gw = await startGateway({
    mock: a,
    clock,
    env: { LLM_MAX_RETRIES: '1', GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'none' },
    yaml: `
routing:
  breaker: { consecutive_failures: 2, min_requests: 4, cooldown_ms: ${COOLDOWN_MS} }
routes:
  pair:
    deployments:
      - { name: a, provider: openai, model: model-a, base_url: "${a.url}/v1" }
      - { name: b, provider: openai, model: model-b, base_url: "${b.url}/v1" }
`,
  });
});
afterEach(() => gw.close());

const state = async (id: string) => (await adminRoutes(gw.url)).deployments.find((d) => d.id === id);

describe('failover', () => {
  test('a 503 from the first deployment → served by the second, with headers, log line and metric', async () => {
    assert.equal(await metricValue(gw.url, 'llm_fallbacks_total{from="a",to="b"}'), undefined);
    a.enqueue({ kind: 'status', status: 503 });
    const res = await chat({ model: 'pair' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-provider'), 'openai');
    assert.equal(res.headers.get('x-model'), 'model-b');
    assert.equal(res.headers.get('x-fallback-count'), '1');
    assert.equal(a.requests.length, 1);
    assert.equal(b.requests.length, 1);
    const line = gw.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .findLast((l) => l.event === 'route.fallback');
    assert.deepEqual(
      { from: line?.from, to: line?.to, reason: line?.reason, route: line?.route },
      { from: 'a', to: 'b', reason: 'provider_unavailable', route: 'pair' },
    );
    assert.equal(await metricValue(gw.url, 'llm_fallbacks_total{from="a",to="b"}'), 1);
  });

  test('once the breaker opened the second serves without touching the first; after the cool-down the first is back', async () => {
    a.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    for (let i = 0; i < 2; i++) assert.equal((await chat({ model: 'pair' })).status, 200);
    assert.equal((await state('a'))?.state, 'open');
    for (let i = 0; i < 5; i++) {
      const res = await chat({ model: 'pair' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-model'), 'model-b');
      assert.equal(res.headers.get('x-fallback-count'), '1', 'skipping an open deployment is a fallback');
    }
    assert.equal(a.requests.length, 2, 'no request reached the open deployment');

    clock.advance(COOLDOWN_MS);
    const back = await chat({ model: 'pair' });
    assert.equal(back.status, 200);
    assert.equal(back.headers.get('x-model'), 'model-a', 'the half-open probe served');
    assert.equal(back.headers.get('x-fallback-count'), null);
    assert.equal((await state('a'))?.state, 'closed');
  });
});

describe('circuit breaker', () => {
  test('opens after the configured consecutive failures, probes when half-open, closes on success', async () => {
    const gauge = () => metricValue(gw.url, 'llm_circuit_state{deployment="a"}');
    assert.equal(await gauge(), 0);
    a.enqueue({ kind: 'status', status: 500 });
    await chat({ model: 'pair' });
    assert.equal((await state('a'))?.state, 'closed', 'one failure of two');
    assert.equal((await state('a'))?.consecutive_failures, 1);
    a.enqueue({ kind: 'status', status: 500 });
    await chat({ model: 'pair' });
    const open = await state('a');
    assert.equal(open?.state, 'open');
    assert.equal(open?.retry_in_ms !== null && open.retry_in_ms > 0 && open.retry_in_ms <= COOLDOWN_MS, true);
    assert.equal(await gauge(), 2);

    clock.advance(COOLDOWN_MS);
    assert.equal((await state('a'))?.state, 'half_open');
    assert.equal(await gauge(), 1);
    await chat({ model: 'pair' });
    assert.equal(a.requests.length, 3, 'exactly one probe reached the deployment');
    assert.equal((await state('a'))?.state, 'closed');
    assert.equal(await gauge(), 0);
  });

  test('a failed probe opens the breaker again for another cool-down', async () => {
    a.enqueue({ kind: 'status', status: 502 }, { kind: 'status', status: 502 });
    await chat({ model: 'pair' });
    await chat({ model: 'pair' });
    clock.advance(COOLDOWN_MS);
    a.enqueue({ kind: 'status', status: 502 });
    const res = await chat({ model: 'pair' });
    assert.equal(res.status, 200, 'the second deployment served the probe request');
    assert.equal(a.requests.length, 3);
    assert.equal((await state('a'))?.state, 'open');
    await chat({ model: 'pair' });
    assert.equal(a.requests.length, 3, 'open again: skipped');
  });

  test('a 400 from the upstream neither trips the breaker nor falls back', async () => {
    for (let i = 0; i < 3; i++) {
      a.enqueue({ kind: 'status', status: 400, message: 'bad tool schema' });
      await expectError(await chat({ model: 'pair' }), {
        status: 400,
        type: 'invalid_request_error',
        message: /bad tool schema/,
      });
    }
    assert.equal(b.requests.length, 0, 'no fallback on a client error');
    const a1 = await state('a');
    assert.equal(a1?.state, 'closed');
    assert.equal(a1?.consecutive_failures, 0);
    assert.equal(a1?.error_rate, 0);
  });
});

describe('streams', () => {
  test('the first deployment fails before the first byte → the second serves a clean stream', async () => {
    a.enqueue({ kind: 'status', status: 503 });
    const res = await chat({ model: 'pair', stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-model'), 'model-b');
    assert.equal(res.headers.get('x-fallback-count'), '1');
    const events = await readSseData(res.response);
    assert.equal(events.at(-1), '[DONE]');
    assert.ok(!events.some((e) => e.includes('"error"')));
  });

  test('a failure after the first byte ends with an SSE error event; no silent switch', async () => {
    a.enqueue({ kind: 'disconnect', afterFrames: 3 });
    const res = await chat({ model: 'pair', stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-model'), 'model-a');
    const events = await readSseData(res.response);
    assert.ok(!events.includes('[DONE]'));
    const last = JSON.parse(events.at(-1) as string) as { error?: { type: string } };
    assert.equal(last.error?.type, 'provider_unavailable_error');
    assert.equal(b.requests.length, 0, 'the second deployment was never asked');
  });
});

describe('when no deployment can serve', () => {
  test('every deployment failed → one error naming each and what happened', async () => {
    a.enqueue({ kind: 'status', status: 503 });
    b.enqueue({ kind: 'status', status: 500 });
    const res = await chat({ model: 'pair' });
    const body = await expectError(res, { status: 502, type: 'provider_unavailable_error' });
    assert.match(body.error.message, /"pair"/);
    assert.match(body.error.message, /a: provider_unavailable/);
    assert.match(body.error.message, /b: provider_unavailable/);
  });

  test('every breaker open → 502 with Retry-After until the soonest probe', async () => {
    a.enqueue(...Array.from({ length: 2 }, () => ({ kind: 'status' as const, status: 503 })));
    b.enqueue(...Array.from({ length: 2 }, () => ({ kind: 'status' as const, status: 503 })));
    await chat({ model: 'pair' });
    await chat({ model: 'pair' });
    assert.equal((await state('a'))?.state, 'open');
    assert.equal((await state('b'))?.state, 'open');
    clock.advance(4_000);
    const res = await chat({ model: 'pair' });
    const body = await expectError(res, { status: 502, type: 'provider_unavailable_error' });
    assert.match(body.error.message, /a: circuit open \(next probe in 6 s\)/);
    assert.match(body.error.message, /b: circuit open/);
    assert.equal(res.headers.get('retry-after'), '6');
    assert.equal(a.requests.length + b.requests.length, 4, 'nothing sent while both are open');
  });
});

describe('aliases and plain names', () => {
  test('the alias is listed by GET /v1/models', async () => {
    const list = (await (await fetch(`${gw.url}/v1/models`)).json()) as {
      data: Array<{ id: string; object: string; owned_by: string }>;
    };
    const pair = list.data.find((m) => m.id === 'pair');
    assert.equal(pair?.object, 'model');
    assert.equal(pair?.owned_by, 'llm-gateway');
  });

  test('a single-deployment name has a breaker too: while open, 502 with Retry-After at once', async () => {
    // The default provider in this gateway points at mock `a`; plain gpt-4o-mini is one deployment.
    a.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    await expectError(await chat({ model: 'gpt-4o-mini' }), {
      status: 502,
      type: 'provider_unavailable_error',
    });
    await expectError(await chat({ model: 'gpt-4o-mini' }), {
      status: 502,
      type: 'provider_unavailable_error',
    });
    assert.equal(await metricValue(gw.url, 'llm_circuit_state{deployment="openai/gpt-4o-mini"}'), 2);
    const res = await chat({ model: 'gpt-4o-mini' });
    await expectError(res, {
      status: 502,
      type: 'provider_unavailable_error',
      message: /openai\/gpt-4o-mini: circuit open/,
    });
    assert.equal(res.headers.get('retry-after'), String(COOLDOWN_MS / 1000));
    assert.equal(a.requests.length, 2);
    clock.advance(COOLDOWN_MS);
    assert.equal((await chat({ model: 'gpt-4o-mini' })).status, 200);
    assert.equal(
      await metricValue(gw.url, 'llm_circuit_state{deployment="openai/gpt-4o-mini"}'),
      undefined,
      'a closed breaker of a non-alias name is not exported (bounded label cardinality)',
    );
  });
});

describe('GET /admin/routes', () => {
  test('needs the admin key', async () => {
    const res = await fetch(`${gw.url}/admin/routes`);
    assert.equal(res.status, 401);
  });

  test('shows each route, its strategy and per deployment breaker state, latency and error rate', async () => {
    a.enqueue({ kind: 'status', status: 503 });
    await chat({ model: 'pair' });
    await chat({ model: 'pair' });
    const routes = await adminRoutes(gw.url);
    const pair = routes.routes.find((r) => r.name === 'pair');
    assert.equal(pair?.strategy, 'failover');
    assert.deepEqual(
      pair?.deployments.map((d) => [d.id, d.provider, d.model]),
      [
        ['a', 'openai', 'model-a'],
        ['b', 'openai', 'model-b'],
      ],
    );
    const da = pair?.deployments[0];
    assert.equal(da?.state, 'closed');
    assert.ok((da?.requests_in_window ?? 0) >= 2);
    assert.ok((da?.error_rate ?? 0) > 0 && (da?.error_rate ?? 1) < 1);
    assert.equal(typeof da?.latency_ms, 'number');
  });
});
