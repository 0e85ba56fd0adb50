/**
 * A stream that fails after its first chunk went to the client (docs/decisions/0222): the upstream cutting
 * the connection, sending an error event, or going silent past the idle timeout is a failed upstream
 * attempt like one that fails before — counted in `llm_provider_errors_total` by its gateway error code,
 * held against the deployment's circuit breaker (`/admin/routes`, `llm_circuit_state`), and its
 * `provider.api_call` span ends with an error. A client that hangs up mid-stream is none of these.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson, useGateway, userMessage } from '../helpers/gateway.js';
import { ADMIN_KEY, adminRoutes, metricValue } from '../helpers/routing.js';

const YAML = `
routing:
  breaker: { consecutive_failures: 3, min_requests: 100, cooldown_ms: 600000 }
routes:
  streamy:
    deployments:
      - { provider: openai, model: gpt-4o-mini, name: dep-a }
`;
const ENV = { GATEWAY_ADMIN_KEY: ADMIN_KEY, AUTH_MODE: 'none', LLM_STREAM_IDLE_TIMEOUT: '0.3' };

const errors = (url: string, code: string) =>
  metricValue(url, `llm_provider_errors_total{provider="openai",code="${code}"}`).then((v) => v ?? 0);

const depA = async (url: string) => {
  const d = (await adminRoutes(url)).deployments.find((x) => x.id === 'dep-a');
  assert.ok(d, 'dep-a is listed');
  return d;
};

/** Streams `streamy` and returns the body (the client reads to the end). */
async function streamOnce(chatUrl: string): Promise<string> {
  const res = await postJson(chatUrl, { model: 'streamy', messages: userMessage(), stream: true });
  assert.equal(res.status, 200, 'the stream started before it failed');
  return res.text();
}

describe('a stream that fails after its first chunk', () => {
  const t = useGateway({ yaml: YAML, env: ENV });

  test('cut, error event and idle stall each count as a provider error and a breaker failure', async () => {
    const url = t.gw.url;
    assert.equal(await errors(url, 'provider_unavailable'), 0);

    t.mock.enqueue({ kind: 'disconnect', afterFrames: 2 });
    assert.match(await streamOnce(t.chatUrl), /"code":"provider_unavailable"/);
    assert.equal(await errors(url, 'provider_unavailable'), 1, 'the cut stream is a failed attempt');
    let d = await depA(url);
    assert.equal(d.consecutive_failures, 1);
    assert.equal(d.error_rate, 1);

    t.mock.enqueue({ kind: 'stream-error', afterFrames: 2 });
    assert.match(await streamOnce(t.chatUrl), /"error"/);
    assert.equal(await errors(url, 'provider_unavailable'), 2, 'the error event is a failed attempt');
    assert.equal((await depA(url)).consecutive_failures, 2);

    t.mock.enqueue({ kind: 'stall', afterFrames: 2 });
    assert.match(await streamOnce(t.chatUrl), /"code":"upstream_timeout"/);
    assert.equal(await errors(url, 'upstream_timeout'), 1, 'the idle timeout is a failed attempt');
    d = await depA(url);
    assert.equal(d.consecutive_failures, 3);
    assert.equal(d.state, 'open', 'three failures in a row open the breaker');
    assert.equal(await metricValue(url, 'llm_circuit_state{deployment="dep-a"}'), 2);
  });
});

describe('a stream the client hangs up on', () => {
  const t = useGateway({ yaml: YAML, env: ENV }, { frameIntervalMs: 20, chunkCount: 30 });

  test('is neither a provider error nor a breaker failure; a complete stream is a success', async () => {
    const url = t.gw.url;
    const controller = new AbortController();
    const res = await fetch(t.chatUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'hang-up-1' },
      body: JSON.stringify({ model: 'streamy', messages: userMessage(), stream: true }),
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assert.equal((await reader.read()).done, false, 'the stream started');
    controller.abort();
    const deadline = performance.now() + 5000;
    while (!t.gw.logs.some((l) => l.includes('"request.end"') && l.includes('hang-up-1'))) {
      assert.ok(performance.now() < deadline, 'the request ended');
      await new Promise((r) => setTimeout(r, 5));
    }
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.doesNotMatch(text, /^llm_provider_errors_total\{/m, 'no provider error counted');
    let d = await depA(url);
    assert.equal(d.consecutive_failures, 0);
    assert.equal(d.error_rate, 0);

    // A stream read to its end is one success in the window.
    const ok = await streamOnce(t.chatUrl);
    assert.match(ok, /\[DONE\]/);
    d = await depA(url);
    assert.equal(d.error_rate, 0);
    assert.ok(d.requests_in_window >= 1);
  });
});

describe('the provider.api_call span of a stream that fails mid-way', () => {
  const exporter = new InMemorySpanExporter();
  let mock: MockUpstream;
  let gateway: Gateway;
  let url: string;

  before(async () => {
    mock = await MockUpstream.start();
    const env = { ...mockEnv(mock), ...ENV };
    gateway = await createGateway({
      config: loadConfig({ env, yamlText: YAML }),
      env,
      logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
      traceExporter: exporter,
    });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await gateway.close(2000);
    await mock.close();
  });

  const apiCalls = async (): Promise<ReadableSpan[]> => {
    // The request's spans end as it settles, just after the client got the last byte.
    const deadline = performance.now() + 5000;
    while (!exporter.getFinishedSpans().some((s) => s.name === 'gateway.request')) {
      assert.ok(performance.now() < deadline, 'the request span ended');
      await new Promise((r) => setTimeout(r, 5));
    }
    return exporter.getFinishedSpans().filter((s) => s.name === 'provider.api_call');
  };

  test('ends with status ERROR and error.type; a complete stream ends OK', async () => {
    mock.enqueue({ kind: 'disconnect', afterFrames: 2 });
    await streamOnce(`${url}/v1/chat/completions`);
    let [span] = await apiCalls();
    assert.ok(span, 'one provider.api_call span');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'provider_unavailable');

    exporter.reset();
    await streamOnce(`${url}/v1/chat/completions`);
    [span] = await apiCalls();
    assert.ok(span, 'one provider.api_call span');
    assert.equal(span.status.code, SpanStatusCode.UNSET);
  });
});
