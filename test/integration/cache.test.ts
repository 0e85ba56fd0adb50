/**
 * The exact cache with the in-process backend (DESIGN §6), end to end through the gateway: keys ignore key
 * order and irrelevant fields, only deterministic requests are cached, client directives are honoured,
 * entries expire (a clock the test moves), streams are replayed as valid SSE and completed streams are
 * cached, truncated ones are not, and the admin routes report and clear.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { adminHeaders, deterministic, startCacheGateway } from '../helpers/cache.js';
import { fakeClock } from '../helpers/fake-clock.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';

type Completion = {
  id: string;
  choices: Array<{ message: { content: string }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

describe('exact cache (memory backend)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let chatUrl: string;
  const clock = fakeClock();

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({ mock, clock, env: { CACHE_TTL_SECONDS: '60' } });
    chatUrl = `${gw.url}/v1/chat/completions`;
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => mock.reset());

  test('MISS then HIT for the same request with its keys in another order and other irrelevant fields', async () => {
    const first = await postJson(chatUrl, {
      model: 'gpt-4o-mini',
      temperature: 0,
      max_tokens: 50,
      messages: [{ role: 'user', content: 'key order test' }],
      user: 'alice',
    });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    assert.equal(first.headers.get('x-cache-type'), 'MISS');
    const a = (await first.json()) as Completion;
    const second = await postJson(chatUrl, {
      messages: [{ content: 'key order test', role: 'user' }],
      max_tokens: 50,
      user: 'bob',
      metadata: { team: 'x' },
      temperature: 0,
      model: 'gpt-4o-mini',
    });
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-cache-status'), 'HIT');
    assert.equal(second.headers.get('x-cache-type'), 'EXACT');
    assert.equal(second.headers.get('x-provider'), 'openai');
    assert.match(second.headers.get('server-timing') ?? '', /cache;dur=[\d.]+/);
    const b = (await second.json()) as Completion;
    assert.equal(b.choices[0]?.message.content, a.choices[0]?.message.content);
    assert.deepEqual(b.usage, a.usage);
    assert.notEqual(b.id, a.id, 'a hit is a new response');
    // Accounting: the miss cost something, the hit costs 0 and records what it saved.
    assert.ok(Number(first.headers.get('x-cost')) > 0);
    assert.equal(Number(second.headers.get('x-cost')), 0);
    const saved = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(saved, /llm_cost_saved_usd_total [0-9.e-]*[1-9]/);
    assert.equal(mock.requests.length, 1, 'the hit made no upstream call');
    // An output-affecting change is another entry.
    const other = await postJson(chatUrl, deterministic('key order test', { max_tokens: 51 }));
    assert.equal(other.headers.get('x-cache-status'), 'MISS');
    assert.equal(mock.requests.length, 2);
  });

  test('temperature > 0 (or unset, which means 1) is never cached', async () => {
    for (const body of [
      deterministic('warm', { temperature: 0.7 }),
      deterministic('warm', { temperature: 0.7 }),
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'warm' }] },
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'warm' }] },
      deterministic('warm', { n: 2 }),
    ]) {
      const res = await postJson(chatUrl, body);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-status'), 'BYPASS');
      await res.text();
    }
    assert.equal(mock.requests.length, 5);
  });

  test('Cache-Control: no-cache and X-Cache-Bypass skip the lookup; no-store does not write', async () => {
    const body = deterministic('directives');
    assert.equal((await postJson(chatUrl, body)).headers.get('x-cache-status'), 'MISS');
    assert.equal((await postJson(chatUrl, body)).headers.get('x-cache-status'), 'HIT');
    const noCache = await postJson(chatUrl, body, { 'cache-control': 'no-cache' });
    assert.equal(noCache.headers.get('x-cache-status'), 'BYPASS');
    const bypass = await postJson(chatUrl, body, { 'x-cache-bypass': 'true' });
    assert.equal(bypass.headers.get('x-cache-status'), 'BYPASS');
    assert.equal(mock.requests.length, 3, 'both bypasses went upstream');

    const unstored = deterministic('no store please');
    const ns1 = await postJson(chatUrl, unstored, { 'cache-control': 'no-store' });
    assert.equal(ns1.headers.get('x-cache-status'), 'MISS');
    const ns2 = await postJson(chatUrl, unstored);
    assert.equal(ns2.headers.get('x-cache-status'), 'MISS', 'no-store kept it out of the cache');
    assert.equal(mock.requests.length, 5);
  });

  test('a bad X-Cache-TTL is a 400 naming the header', async () => {
    for (const ttl of ['abc', '0', '-5', '1.5', '999999999']) {
      const res = await postJson(chatUrl, deterministic('ttl'), { 'x-cache-ttl': ttl });
      assert.equal(res.status, 400, ttl);
      const body = (await res.json()) as { error: { param: string; message: string; type: string } };
      assert.equal(body.error.param, 'X-Cache-TTL');
      assert.match(body.error.message, /X-Cache-TTL/);
      assert.equal(body.error.type, 'invalid_request_error');
    }
    assert.equal(mock.requests.length, 0);
  });

  test('entries expire after CACHE_TTL_SECONDS, or after X-Cache-TTL', async () => {
    const body = deterministic('expiring');
    await postJson(chatUrl, body);
    clock.advance(59_000);
    assert.equal((await postJson(chatUrl, body)).headers.get('x-cache-status'), 'HIT');
    clock.advance(2_000);
    assert.equal((await postJson(chatUrl, body)).headers.get('x-cache-status'), 'MISS');

    const short = deterministic('short ttl');
    await postJson(chatUrl, short, { 'x-cache-ttl': '5' });
    clock.advance(4_000);
    assert.equal((await postJson(chatUrl, short)).headers.get('x-cache-status'), 'HIT');
    clock.advance(2_000);
    assert.equal((await postJson(chatUrl, short)).headers.get('x-cache-status'), 'MISS');
    assert.equal(mock.requests.length, 4);
  });

  test('a stream is replayed from the cache as valid SSE, with usage only when asked', async () => {
    const schemas = loadOpenAISchemas();
    const body = deterministic('stream me', { stream: true, stream_options: { include_usage: true } });
    const first = await postJson(chatUrl, body);
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    const live = await readSseData(first.response);
    const liveText = textOf(live);

    for (const includeUsage of [true, false]) {
      const res = await postJson(chatUrl, { ...body, stream_options: { include_usage: includeUsage } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(res.headers.get('x-cache-status'), 'HIT');
      assert.equal(res.headers.get('x-cache-type'), 'EXACT');
      const events = await readSseData(res.response);
      assert.equal(events.at(-1), '[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
      for (const chunk of chunks) assertSchema(schemas.chunk, chunk, 'replayed chunk');
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id per stream');
      assert.equal(textOf(events), liveText);
      const usage = chunks.filter((c) => c.usage);
      if (includeUsage) assert.deepEqual(usage.at(-1)?.usage, JSON.parse(live.at(-2) as string).usage);
      else assert.equal(usage.length, 0);
      assert.equal(
        chunks.some(
          (c) => (c.choices as Array<{ finish_reason: string | null }>)[0]?.finish_reason === 'stop',
        ),
        true,
      );
    }
    // A completed stream is cached like a completion: the non-stream form hits too.
    const plain = await postJson(chatUrl, deterministic('stream me'));
    assert.equal(plain.headers.get('x-cache-status'), 'HIT');
    assert.equal(((await plain.json()) as Completion).choices[0]?.message.content, liveText);
    assert.equal(mock.requests.length, 1);
  });

  test('the openai SDK reads a cached stream and a cached completion unchanged', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const params = {
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'sdk cached' }],
    };
    const a = await client.chat.completions.create(params);
    const b = await client.chat.completions.create(params);
    assert.equal(b.choices[0]?.message.content, a.choices[0]?.message.content);
    let text = '';
    const stream = await client.chat.completions.create({ ...params, stream: true });
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    assert.equal(text, a.choices[0]?.message.content);
    assert.equal(mock.requests.length, 1);
  });

  test('tool-call answers are cached and replayed (stream chunks valid against the schema)', async () => {
    const schemas = loadOpenAISchemas();
    mock.setAnswer({
      toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      finishReason: 'tool_calls',
      text: '',
      chunks: [],
    });
    const tools = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const body = deterministic('weather in Paris?', { tools, stream: true });
    await readSseData((await postJson(chatUrl, body)).response);
    const replay = await postJson(chatUrl, body);
    assert.equal(replay.headers.get('x-cache-status'), 'HIT');
    const events = await readSseData(replay.response);
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
    for (const chunk of chunks) assertSchema(schemas.chunk, chunk, 'replayed tool chunk');
    const plain = await postJson(chatUrl, deterministic('weather in Paris?', { tools }));
    assert.equal(plain.headers.get('x-cache-status'), 'HIT');
    const completion = (await plain.json()) as Record<string, unknown>;
    assertSchema(schemas.completion, completion, 'cached tool completion');
    const choice = (
      completion.choices as Array<{
        message: { content: string | null; tool_calls: unknown };
        finish_reason: string;
      }>
    )[0];
    assert.equal(choice?.message.content, null, 'a tool-call answer has no content, as a live completion');
    assert.deepEqual(choice?.message.tool_calls, [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
    ]);
    assert.equal(choice?.finish_reason, 'tool_calls');
    assert.equal(mock.requests.length, 1);
  });

  test('a stream cut off mid-answer, or an upstream error, is not cached', async () => {
    const body = deterministic('cut me', { stream: true });
    mock.enqueue({ kind: 'disconnect', afterFrames: 2 });
    const cut = await postJson(chatUrl, body);
    const events = await readSseData(cut.response);
    assert.notEqual(events.at(-1), '[DONE]');
    const again = await postJson(chatUrl, body);
    assert.equal(again.headers.get('x-cache-status'), 'MISS');
    assert.equal((await readSseData(again.response)).at(-1), '[DONE]');

    const failing = deterministic('fail me');
    mock.enqueue({ kind: 'status', status: 400, message: 'bad' });
    assert.equal((await postJson(chatUrl, failing)).status, 400);
    const retry = await postJson(chatUrl, failing);
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('x-cache-status'), 'MISS');
  });

  test('admin: stats by layer, and DELETE clears all or one model', async () => {
    await postJson(chatUrl, deterministic('admin a'));
    await postJson(chatUrl, deterministic('admin a'));
    await postJson(chatUrl, deterministic('admin b', { model: 'gpt-4o' }));
    const unauth = await fetch(`${gw.url}/admin/cache/stats`);
    assert.equal(unauth.status, 401);
    const stats = (await (await fetch(`${gw.url}/admin/cache/stats`, { headers: adminHeaders })).json()) as {
      backend: string;
      entries: number;
      bytes: number;
      hits: { exact: number };
      hit_rate: { overall: number; exact: number; semantic: number };
    };
    assert.equal(stats.backend, 'memory');
    assert.ok(stats.entries >= 2);
    assert.ok(stats.bytes > 0);
    assert.ok(stats.hits.exact >= 1);
    assert.ok(stats.hit_rate.overall > 0 && stats.hit_rate.overall <= 1);

    const del = await fetch(`${gw.url}/admin/cache?model=gpt-4o`, {
      method: 'DELETE',
      headers: adminHeaders,
    });
    assert.equal(del.status, 200);
    assert.equal(((await del.json()) as { deleted: number }).deleted, 1);
    assert.equal(
      (await postJson(chatUrl, deterministic('admin a'))).headers.get('x-cache-status'),
      'HIT',
      'other models kept',
    );
    assert.equal(
      (await postJson(chatUrl, deterministic('admin b', { model: 'gpt-4o' }))).headers.get('x-cache-status'),
      'MISS',
    );
    const all = await fetch(`${gw.url}/admin/cache`, { method: 'DELETE', headers: adminHeaders });
    assert.ok(((await all.json()) as { deleted: number }).deleted >= 2);
    assert.equal((await postJson(chatUrl, deterministic('admin a'))).headers.get('x-cache-status'), 'MISS');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llm_cache_hits_total\{cache_type="exact"\} [1-9]/);
    assert.match(metrics, /llm_cache_misses_total [1-9]/);
    assert.match(metrics, /llm_cache_hit_rate 0\.\d+/);
    assert.match(metrics, /llm_cache_lookup_duration_seconds_count\{cache_type="exact"\} [1-9]/);
  });
});

describe('cache disabled', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({ mock, env: { CACHE_ENABLED: 'false' } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('CACHE_ENABLED=false: no cache headers, every request goes upstream', async () => {
    const url = `${gw.url}/v1/chat/completions`;
    for (let i = 0; i < 2; i++) {
      const res = await postJson(url, deterministic('off'));
      assert.equal(res.headers.get('x-cache-status'), null);
      await res.text();
    }
    assert.equal(mock.requests.length, 2);
  });

  test('the cache admin routes still answer, saying the cache is off', async () => {
    const auth = adminHeaders;
    const stats = await fetch(`${gw.url}/admin/cache/stats`, { headers: auth });
    assert.equal(stats.status, 200);
    assert.equal(((await stats.json()) as { enabled: boolean }).enabled, false);
    const cleared = await fetch(`${gw.url}/admin/cache?model=gpt-4o`, { method: 'DELETE', headers: auth });
    assert.deepEqual(await cleared.json(), { deleted: 0, model: 'gpt-4o' });
  });
});

/** The text content of an SSE stream's chunks. */
function textOf(events: string[]): string {
  return events
    .filter((e) => e !== '[DONE]')
    .map((e) => JSON.parse(e) as { choices: Array<{ delta?: { content?: string } }> })
    .map((c) => c.choices[0]?.delta?.content ?? '')
    .join('');
}
