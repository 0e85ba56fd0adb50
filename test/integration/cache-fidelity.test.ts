/**
 * What a cached answer gives back (DESIGN §6), end to end through the gateway with the official `openai` SDK
 * as the client, against a scripted OpenAI-compatible upstream on loopback: an answer is replayed as the
 * upstream gave it whichever form (stream or not) stored it and whichever form asks for it — token
 * logprobs included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startCacheGateway } from '../helpers/cache.js';
import { type Captured, type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';

const TOKENS = ['Hel', 'lo', '!'];
const logprob = (token: string, i: number) => ({
  token,
  logprob: -0.1 * (i + 1),
  bytes: [...Buffer.from(token)],
  top_logprobs: [],
});
const base = { id: 'chatcmpl-up', created: 1_700_000_000, model: 'gpt-4o-mini' };
const usage = { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 };

/**
 * The upstream's answer: three tokens with their logprobs, as JSON or as one chunk per token; for a prompt
 * that starts with `refuse` a refusal, for one that starts with `filter` an answer its content filter cut.
 */
function answer(req: Captured) {
  const body = req.body as { stream?: boolean; messages: Array<{ content: string }> };
  const prompt = body.messages.at(-1)?.content ?? '';
  const refusal = prompt.startsWith('refuse') ? "I'm sorry, I can't help with that." : null;
  const finish = prompt.startsWith('filter') ? 'content_filter' : 'stop';
  const content = refusal ? null : TOKENS.join('');
  if (prompt.startsWith('custom')) return customToolCall(body.stream === true);
  if (prompt.startsWith('cite')) return cited(body.stream === true);
  if (prompt.startsWith('speak')) return spoken(body.stream === true);
  if (!body.stream) {
    const completion = {
      ...base,
      object: 'chat.completion',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content, refusal },
          logprobs: refusal ? null : { content: TOKENS.map(logprob), refusal: null },
          finish_reason: finish,
        },
      ],
      usage,
    };
    return { status: 200, body: JSON.stringify(completion) };
  }
  const chunk = (choice: Record<string, unknown>) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, logprobs: null, finish_reason: null, ...choice }] })}\n\n`;
  const frames = [
    chunk({ delta: { role: 'assistant', content: '' } }),
    ...(refusal
      ? [chunk({ delta: { refusal } })]
      : TOKENS.map((t, i) =>
          chunk({ delta: { content: t }, logprobs: { content: [logprob(t, i)], refusal: null } }),
        )),
    chunk({ delta: {}, finish_reason: finish }),
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`,
    'data: [DONE]\n\n',
  ];
  return { status: 200, type: 'text/event-stream', body: frames.join('') };
}

/** A call of an OpenAI custom tool (free-form input), as a completion or as a stream. */
function customToolCall(stream: boolean) {
  const call = { id: 'call_c1', type: 'custom', custom: { name: 'run_sql', input: 'SELECT 1' } };
  if (!stream) {
    const message = { role: 'assistant', content: null, refusal: null, tool_calls: [call] };
    const choices = [{ index: 0, message, logprobs: null, finish_reason: 'tool_calls' }];
    return { status: 200, body: JSON.stringify({ ...base, object: 'chat.completion', choices, usage }) };
  }
  const chunk = (delta: unknown, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const frames = [
    chunk({ role: 'assistant', content: null }, null),
    chunk({ tool_calls: [{ index: 0, ...call }] }, null),
    chunk({}, 'tool_calls'),
    'data: [DONE]\n\n',
  ];
  return { status: 200, type: 'text/event-stream', body: frames.join('') };
}

const CITATION = {
  type: 'url_citation',
  url_citation: { start_index: 0, end_index: 6, title: 'Greetings', url: 'https://example.com/greetings' },
};

/** A web-search answer: its content and a citation, as a completion or a stream (citation in its own delta). */
function cited(stream: boolean) {
  if (!stream) {
    const message = { role: 'assistant', content: 'Hello!', refusal: null, annotations: [CITATION] };
    const choices = [{ index: 0, message, logprobs: null, finish_reason: 'stop' }];
    return { status: 200, body: JSON.stringify({ ...base, object: 'chat.completion', choices, usage }) };
  }
  return sse([{ role: 'assistant', content: '' }, { content: 'Hello!' }, { annotations: [CITATION] }]);
}

/** A spoken answer (`modalities: ["audio"]`): audio with an id the upstream keeps until `expires_at`. */
function spoken(stream: boolean) {
  const audio = {
    id: 'audio_up1',
    data: 'UklGRiQAAABXQVZF',
    expires_at: 1_700_003_600,
    transcript: 'Hello!',
  };
  if (!stream) {
    const message = { role: 'assistant', content: null, refusal: null, audio };
    const choices = [{ index: 0, message, logprobs: null, finish_reason: 'stop' }];
    return { status: 200, body: JSON.stringify({ ...base, object: 'chat.completion', choices, usage }) };
  }
  const { data, transcript, ...head } = audio;
  return sse([{ role: 'assistant', content: null }, { audio: { ...head, transcript } }, { audio: { data } }]);
}

/** Deltas as a stream with a final `stop` chunk. */
function sse(deltas: unknown[]) {
  const chunk = (delta: unknown, finish: string | null) =>
    `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const frames = [...deltas.map((d) => chunk(d, null)), chunk({}, 'stop'), 'data: [DONE]\n\n'];
  return { status: 200, type: 'text/event-stream', body: frames.join('') };
}

describe('cached answers replay what the upstream answered', () => {
  let upstream: CaptureServer;
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    upstream = await startCaptureServer(answer);
    mock = await MockUpstream.start();
    gw = await startCacheGateway({ mock, env: { OPENAI_BASE_URL: `${upstream.url}/v1` } });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await upstream?.close();
  });

  const ask = (text: string) => ({
    model: 'gpt-4o-mini',
    temperature: 0,
    logprobs: true,
    messages: [{ role: 'user' as const, content: text }],
  });
  const tokensOf = (c: OpenAI.Chat.ChatCompletion) => c.choices[0]?.logprobs?.content?.map((l) => l.token);

  test('logprobs of a streamed answer: every token, served to a completion and to a stream', async () => {
    const live = await client.chat.completions.stream(ask('streamed with logprobs')).finalChatCompletion();
    assert.deepEqual(tokensOf(live), TOKENS, 'the live stream');
    assert.equal(upstream.seen.length, 1);

    const { data: completion, response } = await client.chat.completions
      .create(ask('streamed with logprobs'))
      .withResponse();
    assert.equal(response.headers.get('x-cache-status'), 'HIT');
    assert.deepEqual(tokensOf(completion), TOKENS, 'the cached completion has every token');
    assert.deepEqual(completion.choices[0]?.logprobs?.content, TOKENS.map(logprob));

    const replayed = await client.chat.completions
      .stream(ask('streamed with logprobs'))
      .finalChatCompletion();
    assert.deepEqual(tokensOf(replayed), TOKENS, 'the replayed stream has every token');
    assert.equal(upstream.seen.length, 1, 'both answered from the cache');
  });

  test('logprobs of a completion: served to a stream', async () => {
    const live = await client.chat.completions.create(ask('completion with logprobs'));
    assert.deepEqual(tokensOf(live), TOKENS);
    const stream = client.chat.completions.stream(ask('completion with logprobs'));
    const replayed = await stream.finalChatCompletion();
    assert.deepEqual(tokensOf(replayed), TOKENS);
    assert.deepEqual(replayed.choices[0]?.message.content, TOKENS.join(''));
    const raw = await postJson(`${gw.url}/v1/chat/completions`, {
      ...ask('completion with logprobs'),
      stream: true,
    });
    const schemas = loadOpenAISchemas();
    for (const event of (await readSseData(raw.response)).slice(0, -1)) {
      assertSchema(schemas.chunk, JSON.parse(event), 'replayed chunk with logprobs');
    }
    assert.equal(upstream.seen.length, 2, 'the streams were the cached completion');
  });

  test('a custom tool call is not cached: a stream never replays it without its call', async () => {
    const before = upstream.seen.length;
    const body = {
      model: 'gpt-4o-mini',
      temperature: 0,
      messages: [{ role: 'user', content: 'custom: count the rows' }],
      tools: [{ type: 'custom', custom: { name: 'run_sql' } }],
    };
    const first = await postJson(`${gw.url}/v1/chat/completions`, body);
    assert.equal(first.status, 200);
    const completion = (await first.json()) as { choices: Array<{ message: { tool_calls: unknown[] } }> };
    assert.equal(completion.choices[0]?.message.tool_calls.length, 1);
    for (let i = 0; i < 2; i++) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, { ...body, stream: true });
      assert.equal(res.headers.get('x-cache-status'), 'MISS', `stream ${i + 1}`);
      const events = await readSseData(res.response);
      assert.ok(
        events.some((e) => e.includes('"custom"')),
        'the stream carries the custom tool call',
      );
    }
    assert.equal(upstream.seen.length - before, 3);
  });

  test('a refusal, or an answer the content filter cut, is not cached (completion or stream)', async () => {
    for (const prompt of ['refuse: completion', 'filter: completion']) {
      const params = { ...ask(prompt), logprobs: false };
      const first = await client.chat.completions.create(params).withResponse();
      assert.equal(first.response.headers.get('x-cache-status'), 'MISS');
      const second = await client.chat.completions.create(params).withResponse();
      assert.equal(second.response.headers.get('x-cache-status'), 'MISS', `${prompt}: asked again`);
    }
    for (const prompt of ['refuse: stream', 'filter: stream']) {
      const params = { ...ask(prompt), logprobs: false };
      const live = await client.chat.completions.stream(params).finalChatCompletion();
      if (prompt.startsWith('refuse')) assert.match(live.choices[0]?.message.refusal ?? '', /sorry/);
      else assert.equal(live.choices[0]?.finish_reason, 'content_filter');
      const again = await client.chat.completions.create(params).withResponse();
      assert.equal(again.response.headers.get('x-cache-status'), 'MISS', `${prompt}: asked again`);
    }
    assert.equal(upstream.seen.length, 2 + 3 + 8, 'every one of them reached the upstream');
  });
});

describe('citations and audio through the cache', () => {
  let upstream: CaptureServer;
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    upstream = await startCaptureServer((req) => {
      const body = req.body as { stream?: boolean; messages: Array<{ content: string }> };
      const prompt = body.messages.at(-1)?.content ?? '';
      return prompt.startsWith('speak') ? spoken(body.stream === true) : cited(body.stream === true);
    });
    mock = await MockUpstream.start();
    gw = await startCacheGateway({ mock, env: { OPENAI_BASE_URL: `${upstream.url}/v1` } });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await upstream?.close();
  });

  const ask = (text: string, stream: boolean) => ({
    model: 'gpt-4o-mini',
    temperature: 0,
    stream,
    messages: [{ role: 'user', content: text }],
  });
  /** The annotations of every chunk of a stream's answer, in order. */
  async function streamedCitations(res: Awaited<ReturnType<typeof postJson>>): Promise<unknown[]> {
    const events = (await readSseData(res.response)).slice(0, -1).map((e) => JSON.parse(e));
    return events.flatMap((e) =>
      e.choices.flatMap((c: { delta: { annotations?: unknown[] } }) => c.delta.annotations ?? []),
    );
  }

  test("citations: a streamed answer's served to a completion, a completion's to a stream", async () => {
    const live = await postJson(`${gw.url}/v1/chat/completions`, ask('cite: streamed first', true));
    assert.deepEqual(await streamedCitations(live), [CITATION]);
    const hit = await postJson(`${gw.url}/v1/chat/completions`, ask('cite: streamed first', false));
    assert.equal(hit.headers.get('x-cache-status'), 'HIT');
    const completion = (await hit.json()) as {
      choices: Array<{ message: { content: string; annotations?: unknown } }>;
    };
    assert.equal(completion.choices[0]?.message.content, 'Hello!');
    assert.deepEqual(completion.choices[0]?.message.annotations, [CITATION]);

    const whole = await postJson(`${gw.url}/v1/chat/completions`, ask('cite: completion first', false));
    assert.equal(whole.status, 200);
    await whole.json();
    const replayed = await postJson(`${gw.url}/v1/chat/completions`, ask('cite: completion first', true));
    assert.equal(replayed.headers.get('x-cache-status'), 'HIT');
    assert.deepEqual(await streamedCitations(replayed), [CITATION]);
    assert.equal(upstream.seen.length, 2, 'one upstream call per prompt');
  });

  test('an answer with audio is not cached (its id expires upstream), streamed or whole', async () => {
    const before = upstream.seen.length;
    for (const stream of [false, true]) {
      for (let i = 0; i < 2; i++) {
        const res = await postJson(`${gw.url}/v1/chat/completions`, {
          ...ask(`speak: ${stream ? 'stream' : 'completion'}`, stream),
          modalities: ['text', 'audio'],
          audio: { voice: 'alloy', format: 'wav' },
        });
        assert.equal(res.status, 200);
        assert.equal(
          res.headers.get('x-cache-status'),
          'MISS',
          `${stream ? 'stream' : 'completion'} ${i + 1}`,
        );
        const text = await res.text();
        assert.match(text, /audio_up1/, 'the audio reaches the client');
      }
    }
    assert.equal(upstream.seen.length - before, 4, 'every request reached the upstream');
  });
});

describe('Responses requests that name state held by the upstream are not cached', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({ mock });
    client = new OpenAI({ apiKey: 'unused', baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  /** Sends the body twice to gpt-4o (natively to the mock's /v1/responses); the two X-Cache-Status. */
  async function twice(extra: Record<string, unknown>): Promise<Array<string | null>> {
    const statuses: Array<string | null> = [];
    for (let i = 0; i < 2; i++) {
      const body = { model: 'gpt-4o', temperature: 0, input: 'And what comes next?', ...extra };
      const { response } = await client.responses.create(body as never).withResponse();
      statuses.push(response.headers.get('x-cache-status'));
    }
    return statuses;
  }

  test('an OpenAI conversation (extended by every call) or a hosted prompt without a version: BYPASS', async () => {
    assert.deepEqual(await twice({}), ['MISS', 'HIT'], 'a plain native request is cached');
    assert.deepEqual(await twice({ conversation: 'conv_abc' }), ['BYPASS', 'BYPASS']);
    assert.deepEqual(await twice({ prompt: { id: 'pmpt_abc' } }), ['BYPASS', 'BYPASS']);
    assert.deepEqual(await twice({ prompt: { id: 'pmpt_abc', version: '3' } }), ['MISS', 'HIT']);
    assert.equal(mock.requests.length, 1 + 2 + 2 + 1);
  });
});
