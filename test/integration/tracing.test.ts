/**
 * OpenTelemetry traces (DESIGN §9): the span tree and its parentage for a request with one retry (two
 * `provider.api_call` spans), `gen_ai.*` attributes, the client's `traceparent` honoured, each attempt's
 * span id sent upstream, errors recorded on spans, the trace id on the request's log lines. Spans are
 * captured with the SDK's in-memory exporter.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { mockEnv, postJson, readSseData, TEST_KEYS, userMessage } from '../helpers/gateway.js';

const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`;
/** Vendors' entries the client's tracing system keeps (sampling, tenant): passed on as they came (W3C §3.3). */
const TRACESTATE = 'vendor=abc,foo=bar';

function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

function byName(spans: ReadableSpan[], name: string): ReadableSpan[] {
  return spans.filter((s) => s.name === name);
}

function one(spans: ReadableSpan[], name: string): ReadableSpan {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `exactly one ${name} span (got ${spans.map((s) => s.name).join(', ')})`);
  return found[0] as ReadableSpan;
}

describe('tracing with an in-memory exporter', () => {
  const exporter = new InMemorySpanExporter();
  let mock: MockUpstream;
  let gateway: Gateway;
  let url: string;
  const logs: string[] = [];

  before(async () => {
    mock = await MockUpstream.start();
    // The rate limiter on (generous), so its stage span shows in the tree.
    const env = {
      ...mockEnv(mock),
      MISTRAL_API_KEY: 'mistral-test-key-0123456789',
      MISTRAL_BASE_URL: `${mock.url}/v1`,
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_DEFAULT_RATE: '10000',
      RATE_LIMIT_DEFAULT_CAPACITY: '10000',
    };
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
        cb();
      },
    });
    // A provider of the operator's own: its configured name is its gen_ai.provider.name.
    const yamlText = `
providers:
  myllm: { type: openai, base_url: "${mock.url}/v1", requires_api_key: false }
`;
    gateway = await createGateway({
      config: loadConfig({ env, yamlText }),
      env,
      logDestination: destination,
      traceExporter: exporter,
    });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await gateway.close(2000);
    await mock.close();
  });
  beforeEach(() => {
    exporter.reset();
    mock.reset();
  });

  test('one retry: gateway.request → auth, provider.generate → two provider.api_call; traceparent in and out', async () => {
    mock.enqueue({ kind: 'status', status: 503 });
    const res = await postJson(
      `${url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage(), max_tokens: 50, temperature: 0.3 },
      { traceparent: TRACEPARENT, tracestate: TRACESTATE, 'x-request-id': 'trace-retry' },
    );
    assert.equal(res.status, 200);
    await res.text();
    const spans = exporter.getFinishedSpans();

    const root = one(spans, 'gateway.request');
    assert.equal(root.spanContext().traceId, CLIENT_TRACE_ID, 'the client trace continues');
    assert.equal(parentId(root), CLIENT_SPAN_ID, 'gateway.request is a child of the client span');
    // The trace names the gateway's own id (the usage record's) and keeps the client's beside it.
    assert.equal(root.attributes['gateway.request_id'], res.headers.get('x-gateway-request-id'));
    assert.equal(root.attributes['gateway.client_request_id'], 'trace-retry');
    for (const s of spans) assert.equal(s.spanContext().traceId, CLIENT_TRACE_ID);

    const auth = one(spans, 'auth');
    const generate = one(spans, 'provider.generate');
    const rateLimit = one(spans, 'rate_limit.check');
    assert.equal(parentId(auth), root.spanContext().spanId);
    assert.equal(parentId(rateLimit), root.spanContext().spanId);
    assert.equal(rateLimit.attributes['gateway.rate_limit.backend'], 'memory');
    for (const stage of ['cost.calculate', 'cost.record']) {
      assert.equal(parentId(one(spans, stage)), root.spanContext().spanId, `${stage} under gateway.request`);
    }
    assert.equal(parentId(generate), root.spanContext().spanId);

    const calls = byName(spans, 'provider.api_call');
    assert.equal(calls.length, 2, 'one provider.api_call per attempt');
    for (const call of calls) assert.equal(parentId(call), generate.spanContext().spanId);
    const [failed, served] = [...calls].sort(
      (a, b) => Number(a.attributes['gateway.attempt']) - Number(b.attributes['gateway.attempt']),
    );
    assert.equal(failed?.status.code, SpanStatusCode.ERROR);
    assert.equal(failed?.attributes['http.response.status_code'], 503);
    assert.ok(
      failed?.events.some((e) => e.name === 'exception'),
      'the failure is an exception event',
    );
    assert.notEqual(served?.status.code, SpanStatusCode.ERROR);

    // Each upstream call carried the span id of its own attempt.
    assert.equal(mock.requests.length, 2);
    const sent = mock.requests.map((r) => r.headers.traceparent);
    assert.deepEqual(
      sent,
      [failed, served].map((s) => `00-${CLIENT_TRACE_ID}-${s?.spanContext().spanId}-01`),
    );
    // …and the client's tracestate, which the spans carry too.
    assert.deepEqual(
      mock.requests.map((r) => r.headers.tracestate),
      [TRACESTATE, TRACESTATE],
    );
    assert.equal(root.spanContext().traceState?.serialize(), TRACESTATE);
    assert.equal(served?.spanContext().traceState?.serialize(), TRACESTATE);

    // gen_ai.* attributes
    assert.equal(root.attributes['gen_ai.request.model'], 'gpt-4o-mini');
    assert.equal(root.attributes['gen_ai.request.max_tokens'], 50);
    assert.equal(root.attributes['gen_ai.request.temperature'], 0.3);
    assert.equal(root.attributes['gen_ai.provider.name'], 'openai');
    assert.equal(typeof root.attributes['gen_ai.usage.input_tokens'], 'number');
    assert.equal(typeof generate.attributes['gen_ai.usage.output_tokens'], 'number');
    assert.equal(generate.attributes['gen_ai.response.model'], 'gpt-4o-mini');
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.attributes['gateway.attempts'], 2);
    const cost = one(spans, 'cost.calculate').attributes['gateway.cost_usd'];
    assert.ok(typeof cost === 'number' && cost > 0, `a priced answer's cost on cost.calculate: ${cost}`);

    // Every line of the request carries its request id and trace id.
    const lines = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.client_request_id === 'trace-retry');
    assert.ok(lines.length >= 2, 'a retry warning and request.end');
    for (const line of lines) assert.equal(line.trace_id, CLIENT_TRACE_ID);
  });

  test('stream: provider.generate lasts until the stream ended; spans of other stages hang off the root', async () => {
    const res = await postJson(`${url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
      stream: true,
      temperature: 0,
    });
    const data = await readSseData(res.response);
    assert.equal(data.at(-1), '[DONE]');
    const spans = exporter.getFinishedSpans();
    const root = one(spans, 'gateway.request');
    assert.equal(parentId(root), undefined, 'no traceparent: a new trace');
    const generate = one(spans, 'provider.generate');
    assert.ok(
      generate.endTime[0] * 1e9 + generate.endTime[1] >= one(spans, 'provider.api_call').endTime[0] * 1e9,
    );
    // The stages' own spans (cache lookup, rate limit, cost) are children of the root.
    const cache = one(spans, 'cache.lookup');
    assert.equal(parentId(cache), root.spanContext().spanId);
    assert.equal(cache.attributes['gateway.cache.type'], 'miss');
    assert.equal(parentId(one(spans, 'rate_limit.check')), root.spanContext().spanId);
    assert.equal(parentId(one(spans, 'cost.calculate')), root.spanContext().spanId);
    assert.equal(root.attributes['gateway.stream'], true);
  });

  test('an upstream failure is an error on provider.generate and gateway.request, not on auth', async () => {
    mock.enqueue({ kind: 'status', status: 400 });
    const res = await postJson(`${url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 400);
    await res.text();
    const spans = exporter.getFinishedSpans();
    const root = one(spans, 'gateway.request');
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.attributes['error.type'], 'upstream_bad_request');
    assert.equal(one(spans, 'provider.generate').status.code, SpanStatusCode.ERROR);
    assert.notEqual(one(spans, 'auth').status.code, SpanStatusCode.ERROR);
  });

  test('secrets never reach a span: a provider key echoed in an error, a gateway key sent as request id or model', async () => {
    const gatewayKey = `sk-gw-${'T'.repeat(43)}`;
    mock.enqueue({
      kind: 'status',
      status: 400,
      message: `Incorrect API key provided: ${TEST_KEYS.openai}.`,
    });
    const failed = await postJson(
      `${url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage() },
      { 'x-request-id': gatewayKey },
    );
    assert.equal(failed.status, 400);
    await failed.text();
    const unknown = await postJson(`${url}/v1/chat/completions`, {
      model: gatewayKey,
      messages: userMessage(),
    });
    assert.equal(unknown.status, 400);
    await unknown.text();
    const spans = exporter.getFinishedSpans();
    const exported = JSON.stringify(
      spans.map((s) => ({ attributes: s.attributes, status: s.status, events: s.events })),
    );
    assert.ok(!exported.includes(TEST_KEYS.openai), 'no provider key in any span');
    assert.ok(!exported.includes(gatewayKey), 'no gateway key in any span');
    assert.match(exported, /Incorrect API key provided: \[redacted\]/, 'the rest of the message is kept');
    assert.equal(
      one(
        spans.filter((s) => s.status.message?.includes('Incorrect')),
        'gateway.request',
      ).status.code,
      SpanStatusCode.ERROR,
    );
  });

  test('the openai SDK with a garbage traceparent: a fresh trace, the request succeeds', async () => {
    const client = new OpenAI({
      apiKey: 'unused',
      baseURL: `${url}/v1`,
      defaultHeaders: { traceparent: 'not-a-traceparent' },
      maxRetries: 0,
    });
    const completion = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: userMessage() as never,
    });
    assert.equal(completion.object, 'chat.completion');
    const root = one(exporter.getFinishedSpans(), 'gateway.request');
    assert.equal(parentId(root), undefined);
    assert.match(root.spanContext().traceId, /^[0-9a-f]{32}$/);
  });

  test('gen_ai.provider.name is the GenAI well-known value of a built-in provider; gateway.provider its own name', async () => {
    const cases: [model: string, genAi: string, gateway: string][] = [
      ['gpt-4o-mini', 'openai', 'openai'],
      ['gemini-2.5-flash', 'gcp.gemini', 'gemini'],
      ['mistral/mistral-small-latest', 'mistral_ai', 'mistral'],
      ['myllm/some-model', 'myllm', 'myllm'],
    ];
    for (const [model, genAi, gateway] of cases) {
      exporter.reset();
      const res = await postJson(`${url}/v1/chat/completions`, { model, messages: userMessage() });
      assert.equal(res.status, 200, model);
      await res.text();
      const spans = exporter.getFinishedSpans();
      for (const name of ['gateway.request', 'provider.generate', 'provider.api_call']) {
        const span = one(spans, name);
        assert.equal(span.attributes['gen_ai.provider.name'], genAi, `${model}: ${name}`);
        assert.equal(span.attributes['gen_ai.system'], genAi, `${model}: ${name} (deprecated twin)`);
        assert.equal(span.attributes['gateway.provider'], gateway, `${model}: ${name}`);
      }
    }
  });

  test('the request span names the route and operation the client called', async () => {
    const calls: [string, object, string][] = [
      ['/v1/chat/completions', { messages: userMessage() }, 'chat'],
      ['/v1/completions', { prompt: 'Say hello' }, 'text_completion'],
      ['/v1/messages', { messages: userMessage(), max_tokens: 20 }, 'chat'],
      ['/v1/embeddings', { input: 'hello' }, 'embeddings'],
    ];
    for (const [path, body, operation] of calls) {
      exporter.reset();
      const model = path === '/v1/embeddings' ? 'text-embedding-3-small' : 'gpt-4o-mini';
      const res = await postJson(`${url}${path}`, { model, ...body });
      assert.equal(res.status, 200, path);
      await res.text();
      const root = one(exporter.getFinishedSpans(), 'gateway.request');
      assert.equal(root.attributes['http.route'], path);
      assert.equal(root.attributes['gen_ai.operation.name'], operation, path);
    }
  });
});

describe('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  let mock: MockUpstream;
  let gateway: Gateway;
  before(async () => {
    mock = await MockUpstream.start();
    const env = mockEnv(mock);
    gateway = await createGateway({
      config: loadConfig({ env }),
      env,
      logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
    });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await gateway.close(2000);
    await mock.close();
  });

  test('a client traceparent is not forwarded upstream and the request is served', async () => {
    const port = (gateway.app.server.address() as AddressInfo).port;
    const res = await postJson(
      `http://127.0.0.1:${port}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage() },
      { traceparent: TRACEPARENT },
    );
    assert.equal(res.status, 200);
    assert.equal(mock.requests[0]?.headers.traceparent, undefined);
  });
});

describe('tracing: a request refused by auth', () => {
  const exporter = new InMemorySpanExporter();
  let mock: MockUpstream;
  let gateway: Gateway;
  before(async () => {
    mock = await MockUpstream.start();
    const env = { ...mockEnv(mock), AUTH_MODE: 'keys' };
    gateway = await createGateway({
      config: loadConfig({ env }),
      env,
      logDestination: new Writable({ write: (_c, _e, cb) => cb() }),
      traceExporter: exporter,
    });
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await gateway.close(2000);
    await mock.close();
  });

  test('401: gateway.request and auth are errors; no provider span, nothing sent upstream', async () => {
    const port = (gateway.app.server.address() as AddressInfo).port;
    const res = await postJson(
      `http://127.0.0.1:${port}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: userMessage() },
      { authorization: 'Bearer not-a-key-0123456789', traceparent: TRACEPARENT },
    );
    assert.equal(res.status, 401);
    await res.text();
    const spans = exporter.getFinishedSpans();
    const root = one(spans, 'gateway.request');
    const auth = one(spans, 'auth');
    assert.equal(parentId(auth), root.spanContext().spanId);
    assert.equal(auth.status.code, SpanStatusCode.ERROR);
    assert.equal(root.status.code, SpanStatusCode.ERROR);
    assert.equal(root.attributes['http.response.status_code'], 401);
    assert.equal(byName(spans, 'provider.generate').length, 0);
    assert.equal(mock.requests.length, 0);
    // No cost is known: the attribute is left out, not a negative amount a backend would sum.
    assert.ok(!('gateway.cost_usd' in one(spans, 'cost.calculate').attributes), 'no cost attribute');
    assert.ok(
      !JSON.stringify(spans.map((s) => s.attributes)).includes('not-a-key'),
      'no credential on a span',
    );
  });
});
