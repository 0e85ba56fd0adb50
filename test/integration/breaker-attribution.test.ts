/**
 * Circuit breakers count only failures that are the deployment's fault (DESIGN §5, §7 Isolation;
 * docs/decisions/0083), against a real gateway and the mock upstream: one tenant's whole-answer requests
 * that time out because their max_tokens cannot fit the timeout do not open the deployment's breaker for
 * everyone (and are not retried), while real 5xx and ordinary timeouts still open it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { postJson, useGateway, userMessage } from '../helpers/gateway.js';
import { metricValue } from '../helpers/routing.js';

/** The attempt timeout (ms). At the default 20 ms a token, max_tokens above 20 cannot fit it. */
const TIMEOUT_MS = 400;
const YAML = `
upstream: { timeout_ms: ${TIMEOUT_MS} }
retry: { max_attempts: 2 }
routing:
  breaker: { consecutive_failures: 3, min_requests: 100, cooldown_ms: 600000 }
routes:
  shared:
    deployments:
      - { provider: openai, model: gpt-4o-mini, name: shared-a }
  claude:
    deployments:
      - { provider: anthropic, model: claude-haiku-4-5, name: claude-a }
`;

describe('breaker fault attribution', () => {
  const t = useGateway({ yaml: YAML });
  const state = () => metricValue(t.gw.url, 'llm_circuit_state{deployment="shared-a"}');
  const ask = (body: Record<string, unknown>, user: string) =>
    postJson(
      t.chatUrl,
      { model: 'shared', messages: userMessage('Write it all'), ...body },
      { 'x-user-id': user },
    );

  test('oversized requests that time out: 504 naming the fix, no retry, breaker stays closed for everyone', async () => {
    for (let i = 0; i < 5; i++) t.mock.enqueue({ kind: 'hang' });
    for (let i = 0; i < 5; i++) {
      const res = await ask({ max_tokens: 100_000 }, 'tenant-big');
      assert.equal(res.status, 504);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, 'upstream_timeout');
      assert.match(error.message, /Lower max_tokens, stream the answer .* or raise LLM_TIMEOUT/);
    }
    assert.equal(t.mock.requests.length, 5, 'one attempt each: a retry would only time out again');
    assert.equal(await state(), 0, 'closed');
    // Another tenant is served by the same deployment.
    const other = await ask({ max_tokens: 10 }, 'tenant-small');
    assert.equal(other.status, 200);
    assert.equal(t.mock.requests.length, 6);
  });

  test('a small max_tokens with a reasoning effort is judged by the thinking budget the gateway adds', async () => {
    // max_tokens 10 fits 400 ms; Anthropic is sent max_tokens 10 + 1,024 (minimal effort): ≈ 21 s.
    for (let i = 0; i < 3; i++) t.mock.enqueue({ kind: 'hang' });
    for (let i = 0; i < 3; i++) {
      const res = await postJson(t.chatUrl, {
        model: 'claude',
        max_tokens: 10,
        reasoning_effort: 'minimal',
        messages: userMessage('Think it through'),
      });
      assert.equal(res.status, 504);
      const error = ((await res.json()) as { error: { message: string } }).error;
      assert.match(error.message, /may need about 21 s for its output limit/);
    }
    const sent = t.mock.requests.map((r) => (r.body as { max_tokens: number }).max_tokens);
    assert.deepEqual(sent, [1034, 1034, 1034], 'one attempt each, with the budget added upstream');
    assert.equal(await metricValue(t.gw.url, 'llm_circuit_state{deployment="claude-a"}'), 0, 'closed');
  });

  test('the official SDKs do not retry the oversized 504 (x-should-retry: false): one upstream call each', async () => {
    for (let i = 0; i < 6; i++) t.mock.enqueue({ kind: 'hang' });
    // Default SDK retries (2): without the header each would send the request three times.
    const openai = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'gw-key' });
    await assert.rejects(
      openai.chat.completions.create({
        model: 'shared',
        max_tokens: 1000,
        messages: [{ role: 'user', content: 'Long' }],
      }),
      (err: unknown) => err instanceof OpenAI.InternalServerError && err.status === 504,
    );
    assert.equal(t.mock.requests.length, 1);
    const anthropic = new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key' });
    await assert.rejects(
      anthropic.messages.create({
        model: 'claude',
        max_tokens: 1000,
        messages: [{ role: 'user', content: 'Long' }],
      }),
      (err: unknown) => err instanceof Anthropic.InternalServerError && err.status === 504,
    );
    assert.equal(t.mock.requests.length, 2);
  });

  test('real 5xx open the breaker; then the deployment is skipped without being called', async () => {
    for (let i = 0; i < 6; i++) t.mock.enqueue({ kind: 'status', status: 500 });
    for (let i = 0; i < 3; i++) assert.equal((await ask({}, 'tenant-small')).status, 502);
    assert.equal(t.mock.requests.length, 6, 'each 500 was retried once');
    assert.equal(await state(), 2, 'open');
    const skipped = await ask({}, 'tenant-small');
    assert.equal(skipped.status, 502);
    assert.match(await skipped.text(), /circuit open/);
    assert.equal(t.mock.requests.length, 6, 'an open breaker sends nothing');
  });
});

describe('breaker fault attribution: timeouts of ordinary requests still count', () => {
  const t = useGateway({ yaml: YAML });

  test('a deployment that hangs on small requests opens its breaker', async () => {
    for (let i = 0; i < 6; i++) t.mock.enqueue({ kind: 'hang' });
    for (let i = 0; i < 3; i++) {
      const res = await postJson(t.chatUrl, { model: 'shared', max_tokens: 5, messages: userMessage() });
      assert.equal(res.status, 504);
    }
    assert.equal(t.mock.requests.length, 6, 'an ordinary timeout is retried');
    assert.equal(await metricValue(t.gw.url, 'llm_circuit_state{deployment="shared-a"}'), 2);
  });
});
