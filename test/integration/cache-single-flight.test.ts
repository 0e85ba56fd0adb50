/**
 * Single-flight (DESIGN §6): identical cacheable requests in flight at the same moment make one upstream
 * call; a stream fans out to every client from its start; the leader's error reaches every waiter; a client
 * that leaves does not cancel the others, and the upstream call stops only when every client left.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { deterministic, startCacheGateway } from '../helpers/cache.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';
import { until } from '../helpers/poll.js';

const N = 50;

describe('single-flight', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let chatUrl: string;

  before(async () => {
    // A slow upstream, so that every request arrives while the first is still in flight.
    mock = await MockUpstream.start({ firstByteMs: 300, frameIntervalMs: 20, chunkCount: 6 });
    gw = await startCacheGateway({ mock });
    chatUrl = `${gw.url}/v1/chat/completions`;
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  test(`${N} concurrent identical completions → 1 upstream call, ${N} correct answers`, async () => {
    const body = deterministic('coalesce me');
    const results = await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await postJson(chatUrl, body);
        const json = (await res.json()) as { id: string; choices: Array<{ message: { content: string } }> };
        return { status: res.status, cache: res.headers.get('x-cache-status'), json };
      }),
    );
    assert.equal(mock.requests.length, 1);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(r.json.choices[0]?.message.content, 'Hello from the mock upstream.');
    }
    assert.equal(new Set(results.map((r) => r.json.id)).size, N, 'each answer is its own response (own id)');
    assert.equal(results.filter((r) => r.cache === 'MISS').length, 1);
    assert.equal(results.filter((r) => r.cache === 'HIT').length, N - 1);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`llm_cache_coalesced_total ${N - 1}\\b`));
  });

  test(`${N} concurrent identical streams → 1 upstream stream fanned out to all, each valid SSE`, async () => {
    const schemas = loadOpenAISchemas();
    const body = deterministic('stream coalesce', { stream: true, stream_options: { include_usage: true } });
    const results = await Promise.all(
      Array.from({ length: N }, async () => {
        const res = await postJson(chatUrl, body);
        return { status: res.status, events: await readSseData(res.response) };
      }),
    );
    assert.equal(mock.requests.length, 1);
    for (const { status, events } of results) {
      assert.equal(status, 200);
      assert.equal(events.at(-1), '[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
      for (const chunk of chunks) assertSchema(schemas.chunk, chunk, 'fanned-out chunk');
      const text = chunks
        .map((c) => (c.choices as Array<{ delta?: { content?: string } }>)[0]?.delta?.content ?? '')
        .join('');
      assert.equal(text, 'Hello from the mock upstream.', 'every client got the whole stream');
      assert.ok(chunks.at(-1)?.usage, 'usage chunk when asked');
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id per stream');
    }
    const ids = results.map(({ events }) => (JSON.parse(events[0] as string) as { id: string }).id);
    assert.equal(new Set(ids).size, N, 'each stream is its own response (own id)');
  });

  test("the leader's error reaches every waiter (completion and stream)", async () => {
    mock.enqueue({ kind: 'status', status: 400, message: 'rejected by upstream' });
    const body = deterministic('error for all');
    const statuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await postJson(chatUrl, body);
        const json = (await res.json()) as { error?: { message: string } };
        assert.match(json.error?.message ?? '', /rejected by upstream/);
        assert.equal(res.headers.get('x-cache-status'), 'MISS', 'an error is never reported as a hit');
        return res.status;
      }),
    );
    assert.deepEqual(statuses, Array(10).fill(400));
    assert.equal(mock.requests.length, 1);

    mock.reset();
    mock.enqueue({ kind: 'status', status: 400, message: 'stream rejected' });
    const streamStatuses = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const res = await postJson(chatUrl, { ...body, stream: true });
        await res.text();
        return res.status;
      }),
    );
    assert.deepEqual(streamStatuses, Array(10).fill(400));
    assert.equal(mock.requests.length, 1);
  });

  test('a client that leaves (even the first) does not cancel the others', async () => {
    const body = deterministic('leaving early', { stream: true });
    const leaver = new AbortController();
    const first = fetch(chatUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: leaver.signal,
    });
    await mock.waitForRequest(1);
    const others = Array.from({ length: 3 }, () => postJson(chatUrl, body));
    const firstRes = await first;
    const reader = firstRes.body?.getReader();
    await reader?.read();
    leaver.abort();
    for (const pending of others) {
      const res = await pending;
      const events = await readSseData(res.response);
      assert.equal(events.at(-1), '[DONE]');
    }
    const upstream = mock.requests[0];
    await upstream?.done;
    assert.equal(upstream?.closedEarly, false, 'the upstream stream was read to its end');
    assert.equal(mock.requests.length, 1);
  });

  /** The `request.end` lines logged since `from` (the gateway's log lines). */
  const ends = (from: number) =>
    gw.logs
      .slice(from)
      .map(
        (l) =>
          JSON.parse(l) as {
            event?: string;
            status: number;
            cost_usd: number | null;
            input_tokens: number | null;
            output_tokens: number | null;
          },
      )
      .filter((l) => l.event === 'request.end');
  const coalesced = async () =>
    Number(
      (await (await fetch(`${gw.url}/metrics`)).text()).match(/llm_cache_coalesced_total (\d+)/)?.[1] ?? 0,
    );

  for (const mode of ['JSON', 'stream', 'stream cut after its first chunk'] as const) {
    const stream = mode !== 'JSON';
    test(`the client that started a shared call and left pays for all of it (${mode})`, async () => {
      const body = deterministic(`leader pays ${mode}`, stream ? { stream: true } : {});
      const from = gw.logs.length;
      const coalescedBefore = await coalesced();
      const leaver = new AbortController();
      const first = fetch(chatUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: leaver.signal,
      }).catch(() => null);
      await mock.waitForRequest(1);
      if (mode === 'stream cut after its first chunk') await (await first)?.body?.getReader().read();
      const follower = postJson(chatUrl, body);
      // The follower has joined once the gateway counted it as coalesced.
      await until('the follower joined', coalesced, (n) => n > coalescedBefore);
      leaver.abort();
      await first;
      const res = await follower;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-coalesced'), 'true');
      await res.text();
      const lines = await until(
        'both requests logged',
        async () => ends(from),
        (l) => l.length === 2,
      );
      const leader = lines.find((l) => l.status === 499);
      const joined = lines.find((l) => l.status === 200);
      // What the same answer costs when called alone (no-cache: a fresh upstream call, same usage).
      const alone = await postJson(chatUrl, { ...body, stream: false }, { 'cache-control': 'no-cache' });
      const cost = Number(alone.headers.get('x-cost'));
      const { usage } = (await alone.json()) as {
        usage: { prompt_tokens: number; completion_tokens: number };
      };
      assert.ok(cost > 0);
      assert.equal(leader?.cost_usd, cost, 'the leader is charged the whole answer, not 0');
      assert.deepEqual(
        [leader?.input_tokens, leader?.output_tokens],
        [usage.prompt_tokens, usage.completion_tokens],
        "the upstream's usage of the whole answer, not an estimate of what the leader read",
      );
      assert.equal(joined?.cost_usd, 0, 'the request that joined is charged nothing');
      assert.equal(mock.requests.length, 2, 'one shared call (and the priced one above)');
    });
  }

  test('when every client left, the upstream call is aborted', async () => {
    const body = deterministic('everyone leaves', { stream: true });
    const controllers = [new AbortController(), new AbortController()];
    const pending = controllers.map((c) =>
      fetch(chatUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: c.signal,
      }).catch(() => null),
    );
    await mock.waitForRequest(1);
    for (const c of controllers) c.abort();
    await Promise.all(pending);
    const upstream = mock.requests[0];
    await upstream?.done;
    assert.equal(upstream?.closedEarly, true);
    // Nothing was cached from the abandoned stream.
    const next = await postJson(chatUrl, body);
    assert.equal(next.headers.get('x-cache-status'), 'MISS');
    await next.text();
  });
});
