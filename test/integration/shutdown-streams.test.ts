/**
 * Shutdown with a request still running when the grace period ends (DESIGN §13, honest streams): a stream
 * ends with the API's own error event — a 503 saying the gateway shut down — and no completion marker, and a
 * JSON request still waiting for its upstream gets that 503 as its answer, instead of a connection cut that
 * a client cannot tell from a network fault.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, userMessage } from '../helpers/gateway.js';

/** Reads a response body as far as it goes; a cut connection ends the text instead of throwing. */
async function readAll(body: ReadableStream<Uint8Array>, onFirst: () => void): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let first = true;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += decoder.decode(value, { stream: true });
      if (first && text.includes('data: ')) {
        first = false;
        onFirst();
      }
    }
  } catch {
    return `${text}<cut>`;
  }
}

/** The case under test: the grace period ran out (the gateway logged a forced close). */
function assertGraceRanOut(logs: readonly string[]): void {
  assert.ok(
    logs.some((l) => l.includes('"shutdown.forced"')),
    'the grace period ran out (the case under test)',
  );
}

for (const [path, body, errorEvent] of [
  [
    '/v1/chat/completions',
    { messages: userMessage(), stream: true },
    /data: \{"error":\{"message":"The gateway shut down/,
  ],
  [
    '/v1/messages',
    { messages: userMessage(), max_tokens: 50, stream: true },
    /event: error\ndata: .*shut down/,
  ],
] as const) {
  test(`${path}: a stream still running at the end of the grace period ends with an error event`, async () => {
    // 20 frames 250 ms apart: about 5 s of stream, far beyond the 200 ms grace period.
    const mock = await MockUpstream.start({ frameIntervalMs: 250, chunkCount: 20 });
    const gw = await startGateway({ mock });
    try {
      const res = await fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
      });
      assert.equal(res.status, 200);
      let closing: Promise<void> | undefined;
      const text = await readAll(res.body as ReadableStream<Uint8Array>, () => {
        closing = gw.gateway.close(200);
      });
      await closing;
      assert.match(text, errorEvent);
      assert.doesNotMatch(text, /\[DONE\]|message_stop/, 'no completion marker on a cut answer');
      assert.doesNotMatch(text, /<cut>$/, 'the response ended, not the connection');
      assertGraceRanOut(gw.logs);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
}

for (const path of ['/v1/chat/completions', '/v1/messages'] as const) {
  test(`${path}: a JSON request still waiting at the end of the grace period gets a 503, not a cut connection`, async () => {
    // The upstream answers after 5 s, far beyond the 200 ms grace period.
    const mock = await MockUpstream.start({ jsonDelayMs: 5000 });
    const gw = await startGateway({ mock });
    try {
      const answer = fetch(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: userMessage(), max_tokens: 50 }),
      }).then(
        async (res) => ({ status: res.status, body: await res.text() }),
        (err: unknown) => ({ status: 0, body: `<cut: ${(err as Error).message}>` }),
      );
      await mock.waitForRequest(1);
      await gw.gateway.close(200);
      const { status, body } = await answer;
      assert.equal(status, 503, body);
      assert.match(body, /The gateway shut down before this answer was complete/);
      assertGraceRanOut(gw.logs);
    } finally {
      await gw.close();
      await mock.close();
    }
  });
}
