/**
 * Prometheus metrics (DESIGN §9), read the way Prometheus reads them: GET /metrics after a mix of requests
 * (success, stream, retried upstream error, upstream error, unknown model, embeddings) and check the
 * values moved as expected, with bounded labels.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

type Samples = Map<string, number>;

/** Parses the text exposition format into `name{labels}` → value (labels sorted by name). */
function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a valid sample line: ${line}`);
    const [, name, labelText = '', value] = match;
    const labels = [...labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map(([, k, v]) => `${k}="${v}"`)
      .sort();
    samples.set(labels.length ? `${name}{${labels.join(',')}}` : String(name), Number(value));
  }
  return samples;
}

function sample(samples: Samples, key: string): number {
  return samples.get(key) ?? 0;
}

function sumOf(samples: Samples, name: string, labelFilter: (key: string) => boolean = () => true): number {
  let total = 0;
  for (const [key, value] of samples) if (key.startsWith(`${name}{`) && labelFilter(key)) total += value;
  return total;
}

describe('GET /metrics after a mix of requests', () => {
  const t = useGateway({
    yaml: `
routes:
  smart:
    deployments:
      - { provider: openai, model: gpt-4o-mini }
`,
  });

  const scrape = async () => {
    const res = await fetch(`${t.gw.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    return parseExposition(await res.text());
  };

  test('request, latency, first-token, provider and active-request metrics move with traffic', async () => {
    const before = await scrape();

    // 1. non-stream success through an alias
    const ok = await postJson(t.chatUrl, { model: 'smart', messages: userMessage() });
    assert.equal(ok.status, 200);
    await ok.text();
    // 2. stream success
    const stream = await postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: userMessage(), stream: true });
    assert.equal((await readSseData(stream.response)).at(-1), '[DONE]');
    // 3. upstream 503 then success (one retry)
    t.mock.enqueue({ kind: 'status', status: 503 });
    const retried = await postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(retried.status, 200);
    await retried.text();
    // 4. upstream rejects the request: 400, not retried
    t.mock.enqueue({ kind: 'status', status: 400 });
    const rejected = await postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(rejected.status, 400);
    await rejected.text();
    // 5. a model nobody configured: any client string must not become a label
    const unknown = await postJson(t.chatUrl, { model: 'no-such-model-1f3a', messages: userMessage() });
    assert.equal(unknown.status, 400);
    await unknown.text();
    // 6. schema violation
    const invalid = await postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: [] });
    assert.equal(invalid.status, 422);
    await invalid.text();
    // 7. a body that is not JSON
    const notJson = await postJson(t.chatUrl, '{"model": "gpt-4o-mini", ');
    assert.equal(notJson.status, 400);
    await notJson.text();
    // 8. embeddings
    const emb = await postJson(`${t.gw.url}/v1/embeddings`, { model: 'text-embedding-3-small', input: 'hi' });
    assert.equal(emb.status, 200);
    await emb.text();

    const after = await scrape();
    const delta = (key: string) => sample(after, key) - sample(before, key);
    // Chat requests the cache saw carry its outcome: no temperature → not cacheable → "bypass".
    const req = (model: string, status: number, provider: string, cache = 'none') =>
      `llm_requests_total{cache_status="${cache}",model="${model}",provider="${provider}",status="${status}"}`;

    assert.equal(delta(req('smart', 200, 'openai', 'bypass')), 1, 'alias label kept');
    assert.equal(delta(req('gpt-4o-mini', 200, 'openai', 'bypass')), 2, 'stream + retried');
    assert.equal(delta(req('gpt-4o-mini', 400, 'openai', 'bypass')), 1, 'upstream 400');
    assert.equal(delta(req('other', 400, 'none')), 2, 'unknown model → other; body not JSON');
    // Refused by the schema before the model was read: no model label.
    assert.equal(delta(req('other', 422, 'none')), 1, 'validation error');
    assert.equal(delta(req('text-embedding-3-small', 200, 'openai')), 1, 'embeddings');
    assert.ok(![...after.keys()].some((k) => k.includes('no-such-model-1f3a')), 'no free-text label');

    // Durations: one observation per request, by model and provider.
    assert.equal(delta('llm_request_duration_seconds_count{model="gpt-4o-mini",provider="openai"}'), 3);
    assert.equal(delta('llm_request_duration_seconds_count{model="smart",provider="openai"}'), 1);
    assert.ok(delta('llm_request_duration_seconds_sum{model="gpt-4o-mini",provider="openai"}') > 0);
    // First token: streams only.
    assert.equal(delta('llm_time_to_first_token_seconds_count{model="gpt-4o-mini",provider="openai"}'), 1);
    assert.equal(delta('llm_time_to_first_token_seconds_count{model="smart",provider="openai"}'), 0);

    // Provider attempts: 1 + 1 + 2 + 1 + 1 (embeddings) = 6, two of them failed.
    assert.equal(delta('llm_provider_api_duration_seconds_count{provider="openai"}'), 6);
    assert.equal(delta('llm_provider_errors_total{code="provider_unavailable",provider="openai"}'), 1);
    assert.equal(delta('llm_provider_errors_total{code="upstream_bad_request",provider="openai"}'), 1);

    assert.equal(sample(after, 'llm_active_requests'), 0, 'nothing in flight after the responses');
    // Node process metrics are exported too.
    assert.ok(sample(after, 'process_resident_memory_bytes') > 0);
    assert.ok(sumOf(after, 'nodejs_heap_space_size_used_bytes') > 0);
  });

  test('llm_active_requests counts a request while it is in flight', async () => {
    t.mock.enqueue({ kind: 'delay', ms: 400 });
    const pending = postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: userMessage() });
    // Poll until the gateway has the request (no fixed sleep).
    let seen = 0;
    for (let i = 0; i < 200 && seen === 0; i++) {
      seen = sample(await scrape(), 'llm_active_requests');
      if (seen === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(seen, 1);
    const res = await pending;
    await res.text();
    assert.equal(sample(await scrape(), 'llm_active_requests'), 0);
  });
});

describe('a client that leaves while sending its body', () => {
  const t = useGateway();

  test('is not left counted as active', async () => {
    const { port } = new URL(t.gw.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":',
    );
    let active = 0;
    for (let i = 0; i < 200 && active === 0; i++) {
      active = sample(
        parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text()),
        'llm_active_requests',
      );
      if (active === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(active, 1, 'the request is in flight');
    socket.destroy();
    for (let i = 0; i < 200 && active !== 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
      active = sample(
        parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text()),
        'llm_active_requests',
      );
    }
    assert.equal(active, 0);
  });
});

describe('requests refused by auth are counted too', () => {
  // Keys mode with no key configured: every key is refused.
  const t = useGateway({ env: { AUTH_MODE: 'keys' } });

  test('401 → llm_requests_total{status="401",model="other",provider="none"}; nothing left active', async () => {
    const res = await postJson(
      t.chatUrl,
      { model: 'gpt-4o-mini', messages: userMessage() },
      { authorization: 'Bearer wrong-key-0123456789' },
    );
    assert.equal(res.status, 401);
    await res.text();
    const text = await (await fetch(`${t.gw.url}/metrics`)).text();
    const samples = parseExposition(text);
    assert.equal(
      sample(samples, 'llm_requests_total{cache_status="none",model="other",provider="none",status="401"}'),
      1,
    );
    assert.equal(sample(samples, 'llm_active_requests'), 0);
    assert.ok(!text.includes('wrong-key-0123456789'), 'no credential in a label');
  });
});

describe('HTTP RED metrics cover every route', () => {
  const t = useGateway();

  test('GET /v1/models, a 404 and a health check show in llm_http_requests_total and its duration', async () => {
    assert.equal((await fetch(`${t.gw.url}/v1/models`)).status, 200);
    assert.equal((await fetch(`${t.gw.url}/v1/models`)).status, 200);
    assert.equal((await fetch(`${t.gw.url}/no/such/route`)).status, 404);
    assert.equal((await fetch(`${t.gw.url}/health/live`)).status, 200);
    const samples = parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text());
    assert.equal(sample(samples, 'llm_http_requests_total{method="GET",route="/v1/models",status="200"}'), 2);
    assert.equal(
      sample(samples, 'llm_http_requests_total{method="GET",route="unmatched",status="404"}'),
      1,
      'an unknown path is one bounded label, not its URL',
    );
    assert.equal(
      sample(samples, 'llm_http_requests_total{method="GET",route="/health/live",status="200"}'),
      1,
    );
    assert.equal(
      sample(samples, 'llm_http_request_duration_seconds_count{method="GET",route="/v1/models"}'),
      2,
    );
    // The chat route is counted here too, besides llm_requests_total.
    await postJson(t.chatUrl, { model: 'gpt-4o-mini', messages: userMessage() });
    const after = parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text());
    assert.equal(
      sample(after, 'llm_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}'),
      1,
    );
  });
});

describe('llm_circuit_state carries only deployment ids from the configuration', () => {
  const t = useGateway({
    yaml: `
retry: { max_attempts: 1 }
routing:
  breaker: { consecutive_failures: 1, cooldown_ms: 600000 }
routes:
  smart:
    deployments:
      - { provider: openai, model: gpt-4o-mini, name: dep-smart }
`,
  });

  const circuitSeries = async () =>
    [...parseExposition(await (await fetch(`${t.gw.url}/metrics`)).text())].filter(([k]) =>
      k.startsWith('llm_circuit_state{'),
    );

  test('failing client-chosen model names share one `other` series; a listed model keeps its own', async () => {
    assert.deepEqual(await circuitSeries(), [['llm_circuit_state{deployment="dep-smart"}', 0]]);
    const names = Array.from(
      { length: 6 },
      (_, i) => `openai/gpt-fail-${i}-${Math.random().toString(36).slice(2)}`,
    );
    for (const model of names) {
      t.mock.enqueue({ kind: 'status', status: 500 });
      const res = await postJson(t.chatUrl, { model, messages: userMessage() });
      assert.equal(res.status, 502);
      await res.text();
    }
    let series = await circuitSeries();
    assert.deepEqual(
      series,
      [
        ['llm_circuit_state{deployment="dep-smart"}', 0],
        ['llm_circuit_state{deployment="other"}', 2],
      ],
      'six open breakers of client-chosen names: one series, the worst state',
    );
    // Their breakers still work: the next request for one of them is refused without a call upstream.
    const calls = t.mock.requests.length;
    const refused = await postJson(t.chatUrl, { model: names[0], messages: userMessage() });
    assert.equal(refused.status, 502);
    await refused.text();
    assert.equal(t.mock.requests.length, calls, 'an open breaker sends nothing');

    // A model listed under its provider is a configured name: its own series while not closed.
    t.mock.enqueue({ kind: 'status', status: 500 });
    const listed = await postJson(t.chatUrl, { model: 'openai/gpt-4o', messages: userMessage() });
    assert.equal(listed.status, 502);
    await listed.text();
    series = await circuitSeries();
    assert.ok(
      series.some(([k, v]) => k === 'llm_circuit_state{deployment="openai/gpt-4o"}' && v === 2),
      JSON.stringify(series),
    );
    assert.equal(series.length, 3);
    assert.ok(!series.some(([k]) => k.includes('gpt-fail')), 'no client-chosen name is a label value');
  });
});
