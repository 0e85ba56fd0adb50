import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

describe('chat completions over an OpenAI-compatible upstream', () => {
  const t = useGateway();

  test('non-stream: answer, headers, and the body forwarded with unknown fields', async () => {
    const res = await postJson(
      t.chatUrl,
      {
        model: 'gpt-4o-mini',
        messages: userMessage(),
        temperature: 0,
        vendor_extension: { keep: true },
      },
      { 'x-request-id': 'client-req-42' },
    );
    assert.equal(res.status, 200);
    const body = (await res.json()) as { object: string; choices: Array<{ message: { content: string } }> };
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.choices[0]?.message.content, 'Hello from the mock');
    assert.equal(res.headers.get('x-request-id'), 'client-req-42');
    assert.equal(res.headers.get('x-provider'), 'openai');
    assert.equal(res.headers.get('x-model'), 'gpt-4o-mini');
    assert.match(
      res.headers.get('server-timing') ?? '',
      /upstream;dur=[\d.]+;desc="ttfb", wait;dur=0.000, gateway;dur=[\d.]+, total;dur=[\d.]+/,
    );
    const sent = t.mock.requests[0]?.body as Record<string, unknown>;
    assert.deepEqual(sent.vendor_extension, { keep: true });
    assert.equal(sent.temperature, 0);
    assert.equal(t.mock.requests[0]?.headers.authorization?.startsWith('Bearer sk-test-openai'), true);
    // Upstream, the gateway's own id ties the provider's logs to the usage record.
    const gatewayId = res.headers.get('x-gateway-request-id') ?? '';
    assert.match(gatewayId, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(t.mock.requests[0]?.headers['x-request-id'], gatewayId);
  });

  test('stream: chunks, then [DONE]; the usage chunk only when asked', async () => {
    const plain = await postJson(t.chatUrl, {
      model: 'gpt-4o',
      messages: userMessage(),
      stream: true,
    });
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(plain.headers.get('x-provider'), 'openai');
    const events = await readSseData(plain.response);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: unknown[]; usage?: unknown });
    assert.ok(
      chunks.every((c) => c.choices.length > 0 && !('usage' in c)),
      'no usage chunk when not asked',
    );
    // The gateway always asks upstream for usage.
    assert.deepEqual((t.mock.requests[0]?.body as { stream_options?: unknown } | undefined)?.stream_options, {
      include_usage: true,
    });

    const withUsage = await postJson(t.chatUrl, {
      model: 'gpt-4o',
      messages: userMessage(),
      stream: true,
      stream_options: { include_usage: true },
    });
    const events2 = await readSseData(withUsage.response);
    assert.equal(events2.at(-1), '[DONE]');
    const last = JSON.parse(events2.at(-2) as string) as {
      choices: unknown[];
      usage: { total_tokens: number };
    };
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.total_tokens > 0);
  });

  test('a client-sent X-Request-ID that is too long is ignored: X-Request-ID carries the gateway id', async () => {
    const res = await postJson(
      t.chatUrl,
      { model: 'gpt-4o', messages: userMessage() },
      { 'x-request-id': 'x'.repeat(129) },
    );
    assert.equal(res.status, 200);
    const gatewayId = res.headers.get('x-gateway-request-id');
    assert.match(gatewayId ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(res.headers.get('x-request-id'), gatewayId);
  });

  test('newer and deprecated OpenAI request shapes pass through: custom tools, allowed_tools, function role', async () => {
    const body = {
      model: 'gpt-4o',
      messages: [
        { role: 'user', content: 'Run it' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'sql', input: 'select 1' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: '1' },
        { role: 'function', name: 'legacy', content: 'ok' },
      ],
      tools: [{ type: 'custom', custom: { name: 'sql', format: { type: 'text' } } }],
      tool_choice: {
        type: 'allowed_tools',
        allowed_tools: { mode: 'auto', tools: [{ type: 'custom', custom: { name: 'sql' } }] },
      },
    };
    const res = await postJson(t.chatUrl, body);
    assert.equal(res.status, 200);
    const sent = t.mock.requests[0]?.body as typeof body;
    assert.deepEqual(sent.messages, body.messages);
    assert.deepEqual(sent.tools, body.tools);
    assert.deepEqual(sent.tool_choice, body.tool_choice);

    const wrong = await postJson(t.chatUrl, {
      ...body,
      tool_choice: { type: 'custom', custom: { name: 'nope' } },
    });
    assert.equal(wrong.status, 422);
    assert.equal(
      ((await wrong.json()) as { error: { param: string } }).error.param,
      'tool_choice.custom.name',
    );
  });
});
