/**
 * An upstream that is working without a chunk to show is alive (decision 0225): Anthropic's thinking deltas
 * and pings, and OpenAI-compatible `: ping` comments, translate to no chat chunk, yet they keep the stream's
 * timers — the attempt's wait for the first chunk and the idle timeout between chunks — from firing. A
 * thinking phase longer than every timeout is served by one attempt; an upstream that really goes silent is
 * still cut. Real gateway, mock upstream on loopback, timeouts in hundreds of milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI from 'openai';
import { postJson, readSseData, useGateway, userMessage } from '../helpers/gateway.js';

const ATTEMPT_MS = 400;
const IDLE_MS = 300;
/** Longer than the attempt, idle and total timeouts together. */
const THINKING_MS = 1300;
const YAML = `
upstream: { timeout_ms: ${ATTEMPT_MS}, total_timeout_ms: 800, stream_idle_timeout_ms: ${IDLE_MS} }
retry: { max_attempts: 3 }
`;
const CLAUDE = 'claude-3-5-haiku-latest';
const GPT = 'gpt-4o-mini';

const anthropicFrame = (event: string, data: object) =>
  `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
const THINKING_DELTA = anthropicFrame('content_block_delta', {
  index: 0,
  delta: { type: 'thinking_delta', thinking: ' and so on' },
});
const PING = anthropicFrame('ping', {});

describe('stream liveness: upstream work the translation does not show', () => {
  const t = useGateway({ yaml: YAML });
  const chat = (model: string) =>
    postJson(t.chatUrl, { model, stream: true, max_tokens: 50, messages: userMessage('Think hard') });

  /** The streamed chat answer's text, asserting it completed. */
  async function completedText(res: Awaited<ReturnType<typeof chat>>): Promise<string> {
    assert.equal(res.status, 200);
    const data = await readSseData(res.response);
    assert.equal(data.at(-1), '[DONE]', `the stream completed: ${data.slice(-2).join(' | ')}`);
    return data
      .slice(0, -1)
      .map((d) => (JSON.parse(d) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '')
      .join('');
  }

  test('Claude thinking longer than every timeout before the first text: one attempt, complete', async () => {
    t.mock.setAnswer({ thinking: 'Let me think', chunks: ['Hel', 'lo.'] });
    // message_start, the thinking block's start, a ping; then thinking deltas every 50 ms.
    t.mock.enqueue({
      kind: 'pause',
      afterFrames: 3,
      ms: THINKING_MS,
      every: { ms: 50, frame: THINKING_DELTA },
    });
    const started = performance.now();
    assert.equal(await completedText(await chat(CLAUDE)), 'Hello.');
    assert.ok(performance.now() - started >= THINKING_MS, 'the whole thinking phase was waited for');
    assert.equal(t.mock.requests.length, 1, 'no retry');
    assert.equal(t.mock.requests[0]?.closedEarly, false);
  });

  test('the same through /v1/responses with the OpenAI SDK: one attempt, complete', async () => {
    t.mock.setAnswer({ thinking: 'Let me think', chunks: ['Hel', 'lo.'] });
    t.mock.enqueue({
      kind: 'pause',
      afterFrames: 3,
      ms: THINKING_MS,
      every: { ms: 50, frame: THINKING_DELTA },
    });
    const openai = new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'gw-key', maxRetries: 0 });
    const final = await openai.responses
      // Not stored: opening the response store (PGlite) would stall the process during the next tests.
      .stream({
        model: CLAUDE,
        input: 'Think hard',
        reasoning: { effort: 'low' },
        max_output_tokens: 50,
        store: false,
      })
      .finalResponse();
    assert.equal(final.status, 'completed');
    assert.equal(final.output_text, 'Hello.');
    assert.equal(t.mock.requests.length, 1, 'no retry');
  });

  test('Anthropic pings mid-answer, longer than the idle timeout: complete', async () => {
    t.mock.setAnswer({ chunks: ['Hel', 'lo', '.'] });
    // message_start, the text block's start, a ping, the first text delta; then only pings.
    t.mock.enqueue({ kind: 'pause', afterFrames: 4, ms: THINKING_MS, every: { ms: 100, frame: PING } });
    assert.equal(await completedText(await chat(CLAUDE)), 'Hello.');
    assert.equal(t.mock.requests.length, 1);
  });

  test('`: ping` comments mid-answer from an OpenAI-compatible upstream: complete', async () => {
    t.mock.setAnswer({ chunks: ['Hel', 'lo', '.'] });
    // The role chunk and the first text chunk; then only comments.
    t.mock.enqueue({
      kind: 'pause',
      afterFrames: 2,
      ms: THINKING_MS,
      every: { ms: 100, frame: ': ping\n\n' },
    });
    assert.equal(await completedText(await chat(GPT)), 'Hello.');
    assert.equal(t.mock.requests.length, 1);
  });

  test('silence after message_start still ends the attempt: retried, then served', async () => {
    t.mock.setAnswer({ chunks: ['Hel', 'lo.'] });
    t.mock.enqueue({ kind: 'pause', afterFrames: 1, ms: 3000 });
    const started = performance.now();
    assert.equal(await completedText(await chat(CLAUDE)), 'Hello.');
    assert.ok(performance.now() - started < 1500, 'cut at the attempt timeout, not at the end of the pause');
    assert.equal(t.mock.requests.length, 2, 'the silent attempt was cut and retried');
    assert.equal(t.mock.requests[0]?.closedEarly, true);
  });

  test('comments alone do not begin an answer: the wait for the first event is still bounded', async () => {
    t.mock.enqueue({ kind: 'pause', afterFrames: 0, ms: 3000, every: { ms: 50, frame: ': ping\n\n' } });
    assert.equal(await completedText(await chat(GPT)), 'Hello from the mock');
    assert.equal(t.mock.requests.length, 2, 'cut at the attempt timeout and retried');
    assert.equal(t.mock.requests[0]?.closedEarly, true);
  });

  test('silence mid-answer still ends the stream with an error event after the idle timeout', async () => {
    t.mock.setAnswer({ chunks: ['Hel', 'lo', '.'] });
    t.mock.enqueue({ kind: 'pause', afterFrames: 4, ms: 3000 });
    const res = await chat(CLAUDE);
    assert.equal(res.status, 200);
    const data = await readSseData(res.response);
    assert.notEqual(data.at(-1), '[DONE]');
    assert.match(data.at(-1) ?? '', new RegExp(`sent nothing for ${IDLE_MS} ms mid-stream`));
    assert.equal(t.mock.requests.length, 1);
  });
});

describe('stream liveness reaches a client that joined the shared call (single-flight)', () => {
  const t = useGateway({ yaml: YAML, env: { CACHE_ENABLED: 'true' } });

  test('Anthropic pings mid-answer: the leader and the client that joined both complete', async () => {
    t.mock.setAnswer({ chunks: ['Hel', 'lo', '.'] });
    t.mock.enqueue({ kind: 'pause', afterFrames: 4, ms: THINKING_MS, every: { ms: 100, frame: PING } });
    const body = {
      model: CLAUDE,
      stream: true,
      temperature: 0,
      max_tokens: 50,
      messages: userMessage('Same'),
    };
    const [first, second] = await Promise.all([postJson(t.chatUrl, body), postJson(t.chatUrl, body)]);
    assert.equal(second?.headers.get('x-cache-coalesced'), 'true', 'the second joined the first');
    for (const res of [first, second]) {
      const data = await readSseData(res.response);
      assert.equal(data.at(-1), '[DONE]', `the stream completed: ${data.slice(-2).join(' | ')}`);
    }
    assert.equal(t.mock.requests.length, 1, 'one shared upstream call');
  });
});
