/**
 * Spans reach a real OTLP/HTTP receiver (a small server in the test decoding the JSON payload the
 * exporter sends), and a collector that is down never fails a request: the export failure is counted in
 * `llm_dependency_errors_total{dependency="tracing"}`.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, userMessage } from '../helpers/gateway.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}
interface OtlpPayload {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

describe('OTLP/HTTP export', () => {
  let mock: MockUpstream;
  let receiver: Server;
  const received: Array<{ path: string; contentType: string | undefined; payload: OtlpPayload }> = [];

  before(async () => {
    mock = await MockUpstream.start();
    receiver = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          contentType: req.headers['content-type'],
          payload: JSON.parse(Buffer.concat(parts).toString('utf8')) as OtlpPayload,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await mock.close();
    await new Promise((resolve) => receiver.close(resolve));
  });

  test('spans of a request arrive at the collector with the service name', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const gw = await startGateway({
      mock,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_SERVICE_NAME: 'gw-under-test' },
    });
    try {
      const res = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'gpt-4o-mini',
        messages: userMessage(),
      });
      assert.equal(res.status, 200);
      await res.text();
    } finally {
      await gw.close(); // flushes the batch
    }
    assert.ok(received.length >= 1, 'the collector received an export');
    assert.equal(received[0]?.path, '/v1/traces');
    assert.match(received[0]?.contentType ?? '', /application\/json/);
    const resource = received[0]?.payload.resourceSpans[0]?.resource;
    const serviceName = resource?.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
    assert.equal(serviceName, 'gw-under-test');
    const spans = received.flatMap((r) =>
      r.payload.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)),
    );
    const names = spans.map((s) => s.name).sort();
    assert.deepEqual(names, ['auth', 'gateway.request', 'provider.api_call', 'provider.generate']);
    const root = spans.find((s) => s.name === 'gateway.request');
    const call = spans.find((s) => s.name === 'provider.api_call');
    assert.equal(call?.traceId, root?.traceId);
    // The upstream saw the api_call span as its parent.
    assert.equal(mock.requests.at(-1)?.headers.traceparent, `00-${call?.traceId}-${call?.spanId}-01`);
  });

  test('collector down: the request succeeds and the failed export is counted', async () => {
    // A port nothing listens on.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const gw = await startGateway({
      mock,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${deadPort}` },
    });
    let closedGateway = false;
    try {
      const res = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'gpt-4o-mini',
        messages: userMessage(),
      });
      assert.equal(res.status, 200);
      await res.text();
      await gw.close();
      closedGateway = true;
      const metric = await gw.gateway.metrics.dependencyErrors.get();
      const tracing = metric.values.find((v) => v.labels.dependency === 'tracing');
      assert.ok((tracing?.value ?? 0) >= 1, 'llm_dependency_errors_total{dependency="tracing"} counted');
      assert.ok(
        gw.logs.some((l) => l.includes('"dependency":"tracing"')),
        'a warning names the tracing dependency',
      );
    } finally {
      if (!closedGateway) await gw.close();
    }
  });
});
