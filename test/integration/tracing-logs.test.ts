/**
 * Log fields of the telemetry (DESIGN §9): `request.start` at debug, `request.end` with tokens, cache and
 * timing fields, and prompt/completion text only with LOG_BODIES=true — scrubbed of secrets and capped.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postJson, readSseData, TEST_KEYS, useGateway } from '../helpers/gateway.js';

type Line = Record<string, unknown>;
const parse = (logs: string[]) => logs.map((l) => JSON.parse(l) as Line);
const forRequest = (logs: string[], id: string) => parse(logs).filter((l) => l.client_request_id === id);

describe('LOG_BODIES=true', () => {
  const t = useGateway({ env: { LOG_BODIES: 'true', LOG_LEVEL: 'debug', LOG_BODY_MAX_CHARS: '200' } });

  test('request.start, then request.end with the prompt and completion, secrets scrubbed', async () => {
    const prompt = `BODY-MARKER my key is ${TEST_KEYS.openai} and sk-live0123456789abcdefXYZ`;
    const res = await postJson(
      t.chatUrl,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] },
      { 'x-request-id': 'bodies-1' },
    );
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    const lines = forRequest(t.gw.logs, 'bodies-1');
    const start = lines.find((l) => l.event === 'request.start');
    const end = lines.find((l) => l.event === 'request.end');
    assert.ok(start, 'request.start logged at debug');
    assert.equal(start.route, '/v1/chat/completions');
    assert.ok(end);
    assert.match(String(end.prompt), /BODY-MARKER my key is \[redacted\] and \[redacted\]/);
    assert.equal(end.completion, answer.choices[0]?.message.content);
    assert.equal(typeof end.total_tokens, 'number');
    const text = t.gw.logs.join('\n');
    assert.ok(!text.includes(TEST_KEYS.openai), 'the provider key never reaches a log line');
    assert.ok(!text.includes('sk-live0123456789abcdefXYZ'));
  });

  test('a stream completion is kept from its deltas; long text is capped', async () => {
    const long = `LONG-${'x'.repeat(1000)}`;
    const res = await postJson(
      t.chatUrl,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: long }], stream: true },
      { 'x-request-id': 'bodies-stream' },
    );
    const data = await readSseData(res.response);
    assert.equal(data.at(-1), '[DONE]');
    const streamed = data
      .slice(0, -1)
      .map(
        (d) =>
          (JSON.parse(d) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ??
          '',
      )
      .join('');
    const end = forRequest(t.gw.logs, 'bodies-stream').find((l) => l.event === 'request.end');
    assert.ok(end);
    const prompt = String(end.prompt);
    assert.ok(prompt.length < 260, `prompt capped (${prompt.length} chars)`);
    assert.match(prompt, /…\[\d+ more chars\]$/);
    const completion = String(end.completion);
    assert.ok(completion.length > 0);
    assert.ok(
      streamed.startsWith(completion.replace(/…\[\d+ more chars\]$/, '')),
      'the streamed text, capped',
    );
    assert.equal(typeof end.ttft_ms, 'number', 'time to first token of a stream');
  });
});

describe('LOG_BODIES unset (default)', () => {
  const t = useGateway({ env: { LOG_LEVEL: 'info' } });

  test('no prompt or completion fields; no request.start at info', async () => {
    const res = await postJson(
      t.chatUrl,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'QUIET-MARKER' }] },
      { 'x-request-id': 'bodies-off' },
    );
    assert.equal(res.status, 200);
    await res.text();
    const lines = forRequest(t.gw.logs, 'bodies-off');
    const end = lines.find((l) => l.event === 'request.end');
    assert.ok(end);
    assert.equal(end.prompt, undefined);
    assert.equal(end.completion, undefined);
    assert.equal(
      lines.find((l) => l.event === 'request.start'),
      undefined,
    );
    assert.ok(!t.gw.logs.join('\n').includes('QUIET-MARKER'));
  });
});
