/**
 * Load through a route whose first deployment is hard down (nothing listens on its port): once its breaker
 * is open, every request is served by the second deployment without touching the first. Not timed: it
 * counts errors and where requests went.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { ADMIN_KEY, adminRoutes, metricValue, startMocks } from '../helpers/routing.js';

let up: MockUpstream;
let deadUrl: string;
let gw: TestGateway;

before(async () => {
  const [alive, dead] = (await startMocks(2)) as [MockUpstream, MockUpstream];
  up = alive;
  deadUrl = dead.url;
  await dead.close(); // connection refused from now on
  gw = await startGateway({
    mock: up,
    clock: fakeClock({ seed: 42 }),
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'none' },
    yaml: `
routing:
  breaker: { consecutive_failures: 5, min_requests: 20, failure_rate_threshold: 0.5, cooldown_ms: 600000 }
routes:
  ha:
    deployments:
      - { name: down, provider: openai, model: model-down, base_url: "${deadUrl}/v1" }
      - { name: up, provider: openai, model: model-up, base_url: "${up.url}/v1" }
`,
  });
});
after(async () => {
  await gw.close();
  await up.close();
});

test('one of two deployments hard down: 1,000 requests, no client-visible error, the dead one skipped once open', async () => {
  const statuses = new Map<number, number>();
  let servedByUp = 0;
  let breakerOpenAt = -1;
  const total = 1_000;
  const concurrency = 20;
  for (let sent = 0; sent < total; sent += concurrency) {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'ha', messages: userMessage() });
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.headers.get('x-model') === 'model-up') servedByUp++;
      }),
    );
    if (breakerOpenAt < 0) {
      const down = (await adminRoutes(gw.url)).deployments.find((d) => d.id === 'down');
      if (down?.state === 'open') breakerOpenAt = sent + concurrency;
    }
  }
  assert.deepEqual([...statuses], [[200, total]], 'every request succeeded');
  assert.equal(servedByUp, total);
  assert.ok(
    breakerOpenAt > 0 && breakerOpenAt <= 2 * concurrency,
    `breaker open after ${breakerOpenAt} requests`,
  );
  const moves = await metricValue(gw.url, 'llm_fallbacks_total{from="down",to="up"}');
  assert.equal(moves, total, 'every request moved from down to up (tried or skipped)');
  // Requests that met the open breaker never tried the dead deployment: only the first ones retried on it.
  const retriesOnDown = gw.logs.filter(
    (l) => l.includes('"upstream.retry"') && l.includes('"deployment":"down"'),
  );
  assert.ok(retriesOnDown.length <= 2 * concurrency * 2, `${retriesOnDown.length} retries on the dead one`);
  const up = (await adminRoutes(gw.url)).deployments.find((d) => d.id === 'up');
  assert.equal(up?.state, 'closed');
  const fallbackLogs = gw.logs.filter((l) => l.includes('"route.fallback"'));
  const skipped = fallbackLogs.filter((l) => l.includes('"reason":"circuit_open"')).length;
  assert.ok(skipped >= total - 2 * concurrency, `${skipped} requests skipped the open deployment`);
});
