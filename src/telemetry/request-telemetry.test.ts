import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { fakeClock } from '../../test/helpers/fake-clock.js';
import {
  advance,
  capturedLogger,
  chatContext,
  completion,
  deployment,
  samples,
  silentLog,
} from '../../test/helpers/stage.js';
import { loadConfig } from '../config/load.js';
import type { RequestContext } from '../core/context.js';
import {
  AuthenticationError,
  ContentPolicyError,
  InternalError,
  ProviderUnavailableError,
} from '../core/errors.js';
import { completionResult } from '../core/result.js';
import { noteFinding } from '../guardrails/findings.js';
import { createLogger, createRedactor } from './logger.js';
import { createMetrics } from './metrics.js';
import { createModelLabeler } from './model-label.js';
import { createTelemetryFeature } from './request-telemetry.js';
import { createTracing } from './tracing.js';

const MINI = deployment('openai', 'gpt-4o-mini');
const SECRET = 'sk-live-SECRET-0123456789';
const config = loadConfig({ env: {} });

async function setup(options: { traced?: boolean; bodies?: boolean } = {}) {
  const clock = fakeClock();
  const metrics = createMetrics({ processMetrics: false });
  const exporter = new InMemorySpanExporter();
  const tracing = await createTracing(
    { endpoint: null, serviceName: 'test', serviceVersion: '0', ...(options.traced ? { exporter } : {}) },
    { metrics, logger: silentLog, clock },
  );
  const telemetry = createTelemetryFeature({
    metrics,
    tracing,
    clock,
    redact: createRedactor([SECRET]),
    modelLabel: createModelLabeler(config),
    bodies: options.bodies ? { maxChars: 2000, redact: createRedactor([SECRET]) } : null,
  });
  const { logger, lines } = capturedLogger('info');
  return { clock, metrics, telemetry, exporter, logger, lines };
}

type Setup = Awaited<ReturnType<typeof setup>>;

const active = async (s: Setup) => (await samples(s.metrics, 'llm_active_requests'))[0]?.value;

/** A request as the server hands it to the pipeline, with the captured logger. */
function arrived(s: Setup, model = 'gpt-4o-mini'): RequestContext {
  return chatContext(s.clock, { model }, { log: s.logger, path: '/v1/chat/completions' });
}

function answered(ctx: RequestContext): void {
  ctx.principal = { userId: 'alice', keyId: null, tier: 'free', allowedModels: null };
  ctx.upstream.attempts = 2;
  ctx.upstream.deployment = MINI;
  ctx.outcome = completionResult(completion('hi'), 'upstream', MINI).outcome;
  ctx.cache.status = 'MISS';
  ctx.usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
  ctx.costUsd = 0.0000027;
  ctx.end = { status: 200, error: null, complete: true };
}

const endLines = (s: Setup) => s.lines.filter((l) => l.event === 'request.end');

describe('telemetry: open + settle', () => {
  test('active requests go up on arrival and back to 0 at settle; the request is counted with its status', async () => {
    const s = await setup();
    const ctx = arrived(s);
    s.telemetry.open.open(ctx);
    assert.equal(await active(s), 1);
    const other = arrived(s);
    s.telemetry.open.open(other);
    assert.equal(await active(s), 2);

    answered(ctx);
    await s.telemetry.settle.settle(ctx);
    assert.equal(await active(s), 1);
    other.end = { status: 401, error: new AuthenticationError(), complete: false };
    await s.telemetry.settle.settle(other);
    assert.equal(await active(s), 0);

    const requests = await samples(s.metrics, 'llm_requests_total');
    assert.deepEqual(
      requests.map((r) => [
        r.labels.model,
        r.labels.status,
        r.labels.cache_status,
        r.labels.provider,
        r.value,
      ]),
      [
        ['gpt-4o-mini', '200', 'miss', 'openai', 1],
        ['gpt-4o-mini', '401', 'none', 'none', 1],
      ],
    );
  });

  test('a request settled without having been opened is counted but not uncounted from active', async () => {
    const s = await setup();
    const opened = arrived(s);
    s.telemetry.open.open(opened);
    const never = arrived(s);
    never.end = { status: 413, error: null, complete: false };
    await s.telemetry.settle.settle(never);
    assert.equal(await active(s), 1, 'the gauge never goes below the requests in flight');
  });

  test('one request.end line with what happened; duration from the injected clock', async () => {
    const s = await setup();
    const ctx = arrived(s);
    s.telemetry.open.open(ctx);
    advance(s.clock, 40);
    answered(ctx);
    await s.telemetry.settle.settle(ctx);
    const ends = endLines(s);
    assert.equal(ends.length, 1);
    const line = ends[0] as Record<string, unknown>;
    assert.equal(line.level, 30); // info
    assert.equal(line.msg, 'request completed');
    assert.deepEqual(
      {
        status: line.status,
        model: line.model,
        stream: line.stream,
        provider: line.provider,
        upstream_model: line.upstream_model,
        user_id: line.user_id,
        attempts: line.attempts,
        fallback_count: line.fallback_count,
        finish_reason: line.finish_reason,
        input_tokens: line.input_tokens,
        output_tokens: line.output_tokens,
        total_tokens: line.total_tokens,
        cache_status: line.cache_status,
        cost_usd: line.cost_usd,
        error_code: line.error_code,
      },
      {
        status: 200,
        model: 'gpt-4o-mini',
        stream: false,
        provider: 'openai',
        upstream_model: 'gpt-4o-mini-2024-07-18',
        user_id: 'alice',
        attempts: 2,
        fallback_count: 0,
        finish_reason: 'stop',
        input_tokens: 10,
        output_tokens: 2,
        total_tokens: 12,
        cache_status: 'MISS',
        cost_usd: 0.0000027,
        error_code: null,
      },
    );
    const duration = line.duration_ms as number;
    assert.ok(duration >= 40 && duration < 1_040, `duration_ms = ${duration}`);
    const histogram = await samples(s.metrics, 'llm_request_duration_seconds');
    const sum = histogram.find(
      (v) => (v as { metricName?: string }).metricName === 'llm_request_duration_seconds_sum',
    );
    assert.ok(sum && sum.value >= 0.04, 'the duration histogram uses the same clock');
  });

  test('a 4xx is logged at warn, a 5xx at error; provider secrets are scrubbed from the message', async () => {
    const s = await setup();
    const rejected = arrived(s);
    rejected.end = { status: 401, error: new AuthenticationError(), complete: false };
    await s.telemetry.settle.settle(rejected);
    const failed = arrived(s);
    const error = new ProviderUnavailableError(`upstream said: bad key ${SECRET}`, 'openai');
    failed.end = { status: 502, error, complete: false };
    await s.telemetry.settle.settle(failed);
    const ends = endLines(s);
    assert.deepEqual(
      ends.map((l) => [l.level, l.msg, l.status, l.error_code]),
      [
        [40, 'request rejected', 401, 'invalid_api_key'],
        [50, 'request failed', 502, 'provider_unavailable'],
      ],
    );
    assert.ok(!JSON.stringify(ends).includes(SECRET));
    assert.match(String(ends[1]?.error_message), /\[redacted\]/);
  });

  test('production logger: request.end keeps level, ids and fields; secrets, keys and credentials stay out', async () => {
    const s = await setup({ bodies: true });
    const raw: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        raw.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        cb();
      },
    });
    // As the server builds it: the process logger, fastify's request child, the client's id.
    const log = createLogger({ level: 'info', destination })
      .child({ request_id: 'req-42' }, {})
      .child({ client_request_id: 'client-1' });
    const apiKey = 'sk-proj-ABCDEFGHIJKLMNOPQRSTUV';
    const ctx = chatContext(
      s.clock,
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `my key ${apiKey}, Bearer abcdefgh12345678` }],
      },
      { log, path: '/v1/chat/completions', headers: { authorization: `Bearer ${apiKey}` } },
    );
    s.telemetry.open.open(ctx);
    answered(ctx);
    ctx.outcome = completionResult(completion(`here: ${SECRET}`), 'upstream', MINI).outcome;
    ctx.end = {
      status: 502,
      error: new ProviderUnavailableError(`upstream said: bad key ${SECRET}`, 'openai'),
      complete: false,
    };
    await s.telemetry.settle.settle(ctx);
    const ends = raw.filter((l) => l.includes('"request.end"'));
    assert.equal(ends.length, 1);
    const text = ends[0] as string;
    for (const secret of [SECRET, apiKey, 'abcdefgh12345678']) assert.ok(!text.includes(secret), text);
    const line = JSON.parse(text) as Record<string, unknown>;
    assert.equal(line.level, 'error');
    assert.equal(line.msg, 'request failed');
    assert.equal(line.request_id, 'req-42');
    assert.equal(line.client_request_id, 'client-1');
    assert.equal(line.service, 'llm-gateway');
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT/);
    assert.equal(line.error_message, 'upstream said: bad key [redacted]');
    assert.match(String(line.prompt), /my key \[redacted\], \[redacted\]/);
    assert.equal(line.completion, 'here: [redacted]');
    assert.equal(line.user_id, 'alice');
    assert.equal(line.input_tokens, 10);
    assert.equal(line.authorization, undefined);
    assert.equal(line.headers, undefined);
  });

  test('bodies: a request a guardrail refused on input has no prompt in the log (it holds the raw values)', async () => {
    const s = await setup({ bodies: true });
    const ctx = chatContext(
      s.clock,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'card 4111 1111 1111 1111' }] },
      { log: s.logger, path: '/v1/chat/completions' },
    );
    s.telemetry.open.open(ctx);
    noteFinding(ctx, { policy: 'strict', entity: 'credit_card', action: 'block', direction: 'input' });
    ctx.end = { status: 400, error: new ContentPolicyError('blocked'), complete: true };
    await s.telemetry.settle.settle(ctx);
    const end = endLines(s)[0];
    assert.equal(end?.prompt, undefined);
    // '4111 1', not '4111': the lines hold a random request id, whose hex may contain '4111'.
    assert.ok(!JSON.stringify(s.lines).includes('4111 1'));
  });

  test('an internal error logs its cause (scrubbed) so the request id leads to it', async () => {
    const s = await setup();
    const ctx = arrived(s);
    const error = new InternalError(new TypeError(`cannot read x of undefined (${SECRET})`));
    ctx.end = { status: 500, error, complete: false };
    await s.telemetry.settle.settle(ctx);
    const [line] = endLines(s);
    const cause = line?.cause as { type: string; message: string } | undefined;
    assert.equal(cause?.type, 'TypeError');
    assert.ok(!cause?.message.includes(SECRET));
  });

  test('a model the config does not know is labelled "other" (bounded labels), but logged as asked', async () => {
    const s = await setup();
    const ctx = arrived(s, 'some-random-model-name');
    ctx.end = { status: 400, error: null, complete: false };
    await s.telemetry.settle.settle(ctx);
    const [sample] = await samples(s.metrics, 'llm_requests_total');
    assert.equal(sample?.labels.model, 'other');
    assert.equal(endLines(s)[0]?.model, 'some-random-model-name');
  });

  test('traced: open puts the trace id on the request’s log; settle ends gateway.request with the status', async () => {
    const s = await setup({ traced: true });
    const ctx = arrived(s);
    s.telemetry.open.open(ctx);
    answered(ctx);
    await s.telemetry.settle.settle(ctx);
    const [line] = endLines(s);
    assert.match(String(line?.trace_id), /^[0-9a-f]{32}$/);
    const root = s.exporter.getFinishedSpans().find((span) => span.name === 'gateway.request');
    assert.ok(root, 'gateway.request was ended');
    assert.equal(root.spanContext().traceId, line?.trace_id);
    assert.equal(root.attributes['http.response.status_code'], 200);
    assert.equal(root.attributes['gateway.attempts'], 2);
    await s.telemetry.close?.();
  });
});
