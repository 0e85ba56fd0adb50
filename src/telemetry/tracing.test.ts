import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { systemClock } from '../core/clock.js';
import { createContext } from '../core/context.js';
import { createMetrics } from './metrics.js';
import { createTracing, requestTrace, startChildSpan, TRACE, withSpan } from './tracing.js';

const logger = pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }));

test('off without an endpoint: no request trace, stage spans are no-ops, errors still propagate', async () => {
  const tracing = await createTracing(
    { endpoint: null, serviceName: 'x', serviceVersion: '0' },
    { metrics: createMetrics({ processMetrics: false }), logger, clock: systemClock },
  );
  assert.equal(tracing.enabled, false);
  assert.equal(tracing.startRequest(performance.now(), undefined, {}), null);
  const ctx = createContext({ requestId: 'r1', log: logger, startedAt: performance.now(), endpoint: 'chat' });
  assert.equal(requestTrace(ctx), null);
  startChildSpan(ctx, 'cache.lookup').end(new Error('ignored'));
  assert.equal(await withSpan(ctx, 'cost.record', () => 42), 42);
  await assert.rejects(
    withSpan(ctx, 'cost.record', () => {
      throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(ctx.slots.size, 0);
});

test('on: withSpan records a thrown error on the span and rethrows it', async () => {
  const exporter = new InMemorySpanExporter();
  const tracing = await createTracing(
    { endpoint: null, serviceName: 'x', serviceVersion: '0', exporter },
    { metrics: createMetrics({ processMetrics: false }), logger, clock: systemClock },
  );
  const ctx = createContext({ requestId: 'r2', log: logger, startedAt: performance.now(), endpoint: 'chat' });
  const rt = tracing.startRequest(ctx.startedAt, undefined, {});
  assert.ok(rt);
  TRACE.set(ctx, rt);
  await assert.rejects(
    withSpan(ctx, 'rate_limit.check', () => {
      throw Object.assign(new Error('redis down'), { code: 'ECONNREFUSED' });
    }),
    /redis down/,
  );
  const [span] = exporter.getFinishedSpans();
  assert.equal(span?.name, 'rate_limit.check');
  assert.equal(span?.status.code, 2);
  assert.equal(span?.attributes['error.type'], 'ECONNREFUSED');
  assert.equal(span?.events[0]?.name, 'exception');
  assert.equal(span?.parentSpanContext?.spanId, rt.root.spanContext().spanId);
  await tracing.shutdown();
});
