/**
 * A cacheable stream to a native deployment (the exact cache on, temperature 0) keeps the provider's own
 * events, as without the cache: `/v1/messages` to Anthropic streams Anthropic's events (thinking block and
 * signature, `message_start` usage with cache reads and writes, Anthropic's message id), `/v1/responses` to
 * OpenAI streams OpenAI's events under OpenAI's response id (stored as native: `previous_response_id` is
 * forwarded). The same request again is a HIT, translated from the stored answer, which the official SDKs
 * read. A request that joins the stream in flight gets the answer translated, under an id of its own
 * (decision 0213).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { assertEventSequence, parseSse, type SseEvent } from '../fixtures/anthropic-schemas.js';
import { useGateway } from '../helpers/gateway.js';
import { assertSchema, loadResponsesSchemas } from '../helpers/openai-schemas.js';

const CLAUDE = 'claude-3-5-haiku-latest';
const GPT = 'gpt-4o';

describe('the exact cache keeps native streams', () => {
  // Frames 10 ms apart: a second request sent at once joins the first one's stream in flight.
  const t = useGateway({}, { frameIntervalMs: 10 });
  const anthropic = () => new Anthropic({ baseURL: t.gw.url, apiKey: 'gw-key', maxRetries: 0 });
  const openai = () => new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'gw-key', maxRetries: 0 });

  const thinkingAnswer = () =>
    t.mock.setAnswer({
      id: 'msg_upstream_native',
      thinking: 'Let me think.',
      chunks: ['Hel', 'lo.'],
      usage: { prompt: 50, completion: 9, cached: 30, cacheWrite: 10 },
    });

  /** POSTs a streamed Messages request; the response headers and the events as sent. */
  async function messagesStream(body: object): Promise<{ headers: Headers; events: SseEvent[] }> {
    const res = await fetch(`${t.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    assert.equal(res.status, 200);
    return { headers: res.headers, events: parseSse(await res.text()) };
  }

  test('/v1/messages to Anthropic: the MISS streams Anthropic’s events; the HIT works with the SDK', async () => {
    thinkingAnswer();
    const body = {
      model: CLAUDE,
      max_tokens: 50,
      temperature: 0,
      messages: [{ role: 'user' as const, content: 'native stream, cached' }],
    };
    const miss = await messagesStream(body);
    assert.equal(miss.headers.get('x-cache-status'), 'MISS');
    assert.equal(assertEventSequence(miss.events), 'complete');
    const start = miss.events[0]?.data as { type: string; message: Anthropic.Message };
    assert.equal(start.type, 'message_start');
    assert.equal(start.message.id, 'msg_upstream_native');
    assert.deepEqual(
      {
        input: start.message.usage.input_tokens,
        write: start.message.usage.cache_creation_input_tokens,
        read: start.message.usage.cache_read_input_tokens,
      },
      { input: 10, write: 10, read: 30 },
    );
    const blocks = miss.events.filter((e) => e.data.type === 'content_block_start');
    assert.deepEqual(
      blocks.map((e) => (e.data.content_block as { type: string }).type),
      ['thinking', 'text'],
    );
    const deltas = miss.events.map((e) => (e.data.delta as { type?: string } | undefined)?.type);
    assert.ok(deltas.includes('signature_delta'), 'the thinking block’s signature');
    assert.equal(t.mock.requests.length, 1);

    // The same request again: a HIT, translated from the stored (canonical) answer: text, no thinking.
    const { data: stream, response } = await anthropic()
      .messages.create({ ...body, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-cache-status'), 'HIT');
    const hitEvents: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) hitEvents.push(event);
    assert.equal(hitEvents[0]?.type, 'message_start');
    const text = hitEvents
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
      .join('');
    assert.equal(text, 'Hello.');
    const final = await anthropic().messages.stream(body).finalMessage();
    assert.deepEqual(final.content, [{ type: 'text', text: 'Hello.', citations: null }]);
    assert.equal(final.stop_reason, 'end_turn');
    // The stored usage is Anthropic's (cache reads and writes included), as the hit reports it.
    assert.deepEqual(
      {
        input: final.usage.input_tokens,
        write: final.usage.cache_creation_input_tokens,
        read: final.usage.cache_read_input_tokens,
        output: final.usage.output_tokens,
      },
      { input: 10, write: 10, read: 30, output: 9 },
    );
    assert.equal(t.mock.requests.length, 1, 'the hits made no upstream call');
  });

  test('/v1/responses to OpenAI: the MISS streams OpenAI’s events and id; the HIT works with the SDK', async () => {
    const schemas = loadResponsesSchemas();
    t.mock.setAnswer({ id: 'resp_upstream_native', chunks: ['Hel', 'lo.'] });
    const params = { model: GPT, input: 'native responses stream, cached', temperature: 0 };
    const { data: stream, response } = await openai()
      .responses.create({ ...params, stream: true })
      .withResponse();
    assert.equal(response.headers.get('x-cache-status'), 'MISS');
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) {
      assertSchema(schemas.event, event, `MISS ${event.type}`);
      events.push(event);
    }
    const created = events[0];
    const last = events.at(-1);
    assert.equal(created?.type, 'response.created');
    assert.equal(created.response.id, 'resp_upstream_native');
    assert.equal(last?.type, 'response.completed');
    assert.equal(last.response.id, 'resp_upstream_native');
    assert.equal(t.mock.requests.length, 1);

    // The same request again: a HIT, translated (an id of the gateway's), read by the SDK's stream helper.
    const hit = openai().responses.stream(params);
    const hitEvents: Array<{ type: string }> = [];
    for await (const event of hit) {
      assertSchema(schemas.event, event, `HIT ${event.type}`);
      hitEvents.push(event);
    }
    const final = await hit.finalResponse();
    assertSchema(schemas.response, final, 'HIT final response');
    assert.equal(final.output_text, 'Hello.');
    assert.notEqual(final.id, 'resp_upstream_native');
    assert.equal(hitEvents.at(-1)?.type, 'response.completed');
    assert.equal(t.mock.requests.length, 1, 'the hit made no upstream call');

    // The MISS was stored as OpenAI's own response: a next turn forwards its id instead of the history.
    await openai().responses.create({
      model: GPT,
      input: 'and then?',
      previous_response_id: 'resp_upstream_native',
    });
    const forwarded = t.mock.requests.at(-1)?.body as { previous_response_id?: unknown; input?: unknown };
    assert.equal(forwarded.previous_response_id, 'resp_upstream_native');
    assert.equal(forwarded.input, 'and then?');
  });

  test('a request that joins the stream in flight gets it translated, under its own id', async () => {
    thinkingAnswer();
    const body = {
      model: CLAUDE,
      max_tokens: 50,
      temperature: 0,
      messages: [{ role: 'user', content: 'native stream, coalesced' }],
    };
    const [leader, follower] = await Promise.all([messagesStream(body), messagesStream(body)]);
    assert.equal(t.mock.requests.length, 1, 'one upstream call');
    assert.equal(leader.headers.get('x-cache-status'), 'MISS');
    assert.equal(follower.headers.get('x-cache-coalesced'), 'true');
    const id = (events: SseEvent[]) => (events[0]?.data.message as { id?: string } | undefined)?.id;
    const kinds = (events: SseEvent[]) =>
      events
        .filter((e) => e.data.type === 'content_block_start')
        .map((e) => (e.data.content_block as { type: string }).type);
    assert.equal(id(leader.events), 'msg_upstream_native');
    assert.deepEqual(kinds(leader.events), ['thinking', 'text']);
    assert.equal(assertEventSequence(follower.events), 'complete');
    assert.notEqual(id(follower.events), 'msg_upstream_native');
    assert.deepEqual(kinds(follower.events), ['text']);
  });
});
