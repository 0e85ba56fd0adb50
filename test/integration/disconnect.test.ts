/**
 * Client disconnect aborts the upstream request at once (DESIGN §5: no tokens paid for nobody), for
 * streams and for slow non-stream calls, and the gateway does not retry on behalf of a client that left.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

/**
 * Upper bound between the client's abort and the upstream connection closing: far below the ≈ 2.4 s the
 * mock's stream still had to run (50 frames at 50 ms) and the hang that never ends, so it tells an abort
 * that propagated from an upstream that ended on its own — without being a speed assertion that a loaded
 * machine fails (the abort path's latency is a benchmark's business).
 */
const ABORT_PROPAGATION_MS = 1000;

/** Waits for a condition that an outside event makes true (polled; fails after `timeoutMs`). */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

interface LogLine {
  event?: string;
  client_request_id?: string;
  status?: number;
  error_code?: string;
}

describe('client disconnect aborts the upstream call', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start({ frameIntervalMs: 50, chunkCount: 50 });
    gw = await startGateway({ mock });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  const endLine = (requestId: string) =>
    gw.logs
      .map((l) => JSON.parse(l) as LogLine)
      .find((l) => l.event === 'request.end' && l.client_request_id === requestId);

  for (const model of ['gpt-4o', 'claude-3-5-haiku-latest', 'gemini-2.5-flash']) {
    test(`stream (${model}): abort mid-stream closes the upstream connection within ${ABORT_PROPAGATION_MS} ms`, async () => {
      const controller = new AbortController();
      const requestId = `disc-stream-${model}`;
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': requestId },
        body: JSON.stringify({ model, messages: userMessage(), stream: true }),
        signal: controller.signal,
      });
      assert.equal(res.status, 200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = await reader.read();
      assert.ok(!first.done && first.value.length > 0, 'the stream started');
      const record = mock.requests[0];
      assert.ok(record, 'the request reached the mock');
      assert.equal(record.closedEarly, false, 'still streaming (50 frames at 50 ms)');

      const abortedAt = performance.now();
      controller.abort();
      await record.done;
      assert.equal(record.closedEarly, true, 'the gateway closed the upstream before the answer ended');
      const lag = (record.closedAt as number) - abortedAt;
      assert.ok(
        lag >= 0 && lag < ABORT_PROPAGATION_MS,
        `upstream closed ${lag.toFixed(1)} ms after the abort`,
      );

      await waitFor('request.end log', () => endLine(requestId) !== undefined);
      assert.equal(endLine(requestId)?.error_code, 'client_closed');
      assert.equal(mock.requests.length, 1, 'no retry for a client that left');
      // Settled exactly once, whatever else ended it later (the writer, the upstream's abort).
      await new Promise((resolve) => setTimeout(resolve, 20));
      const ends = gw.logs
        .map((l) => JSON.parse(l) as LogLine)
        .filter((l) => l.event === 'request.end' && l.client_request_id === requestId);
      assert.equal(ends.length, 1, 'one request.end');
    });
  }

  test(`non-stream: abort while the upstream hangs closes it within ${ABORT_PROPAGATION_MS} ms`, async () => {
    mock.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const requestId = 'disc-hang';
    const pending = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': requestId },
      body: JSON.stringify({ model: 'gpt-4o', messages: userMessage() }),
      signal: controller.signal,
    });
    // The mock applies the fault once it has read the whole body: the request is now waiting upstream.
    await waitFor('the request to reach the mock', () => mock.requests[0]?.fault?.kind === 'hang');
    const record = mock.requests[0];
    assert.ok(record);

    const abortedAt = performance.now();
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    await record.done;
    assert.equal(record.closedEarly, true);
    const lag = (record.closedAt as number) - abortedAt;
    assert.ok(lag >= 0 && lag < ABORT_PROPAGATION_MS, `upstream closed ${lag.toFixed(1)} ms after the abort`);

    await waitFor('request.end log', () => endLine(requestId) !== undefined);
    const end = endLine(requestId);
    assert.equal(end?.error_code, 'client_closed');
    assert.equal(end?.status, 499);
    assert.equal(mock.requests.length, 1, 'no retry for a client that left');
  });

  test('the gateway keeps serving after disconnects', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: userMessage() }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ message: { content: string } }> };
    assert.ok(body.choices[0]?.message.content.startsWith('Hello from the mock'));
  });
});
