/**
 * Legacy Completions (`POST /v1/completions`) with the official `openai` SDK's `completions.create`: the
 * prompt goes upstream as one user message of a chat request (OpenAI's default of 16 tokens when
 * `max_tokens` is unset), answers come back as `text_completion` objects valid against OpenAI's own schema,
 * whole and streamed, from an OpenAI-compatible and an Anthropic model alike; what the chat path cannot do
 * is refused with a 422 naming the field, before any provider is called.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { postJson, useGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas } from '../helpers/openai-schemas.js';

const schemas = loadOpenAISchemas();

describe('POST /v1/completions (legacy Completions over chat)', () => {
  const t = useGateway();
  const client = () => new OpenAI({ baseURL: `${t.gw.url}/v1`, apiKey: 'x', maxRetries: 0 });
  beforeEach(() => t.mock.setAnswer({ usage: { prompt: 9, completion: 4, cached: 0 } }));

  test('completions.create: a text_completion with the text, finish reason and usage', async () => {
    const { data, response } = await client()
      .completions.create({ model: 'gpt-4o-mini', prompt: 'Say hello', temperature: 0 })
      .withResponse();
    assertSchema(schemas.textCompletion, data, 'completion');
    assert.equal(data.object, 'text_completion');
    assert.match(data.id, /^cmpl-/);
    assert.equal(data.model, 'gpt-4o-mini');
    assert.deepEqual(data.choices, [
      { text: 'Hello from the mock', index: 0, logprobs: null, finish_reason: 'stop' },
    ]);
    assert.deepEqual([data.usage?.prompt_tokens, data.usage?.completion_tokens], [9, 4]);
    assert.equal(response.headers.get('x-provider'), 'openai');
    const sent = t.mock.requests[0]?.body as Record<string, unknown>;
    assert.deepEqual(sent.messages, [{ role: 'user', content: 'Say hello' }]);
    assert.equal(sent.max_tokens, 16, "OpenAI's Completions default");
    assert.equal(sent.temperature, 0);
    assert.equal(sent.prompt, undefined, 'the completions-only fields never reach a chat upstream');
  });

  test('max_tokens, stop, n, logprobs and unknown fields are forwarded as their chat equivalents', async () => {
    await postJson(`${t.gw.url}/v1/completions`, {
      model: 'gpt-4o-mini',
      prompt: ['One prompt in an array'],
      max_tokens: 50,
      stop: ['\n'],
      n: 2,
      logprobs: 3,
      echo: false,
      best_of: 2,
      top_k: 5,
    });
    const sent = t.mock.requests[0]?.body as Record<string, unknown>;
    assert.deepEqual(sent.messages, [{ role: 'user', content: 'One prompt in an array' }]);
    assert.equal(sent.max_tokens, 50);
    assert.deepEqual(sent.stop, ['\n']);
    assert.equal(sent.n, 2);
    assert.equal(sent.logprobs, true);
    assert.equal(sent.top_logprobs, 3);
    assert.equal(sent.top_k, 5);
    for (const field of ['echo', 'best_of', 'suffix', 'prompt']) assert.equal(sent[field], undefined, field);
  });

  test('stream: text_completion chunks join to the text; the usage chunk only when asked for', async () => {
    const stream = await client().completions.create({
      model: 'gpt-4o-mini',
      prompt: 'Say hello',
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    // OpenAI's streams reuse the whole answer's schema but send `finish_reason: null` until the last text
    // chunk (as OpenAI and vLLM do); everything else must match it.
    for (const chunk of chunks) {
      const choices = chunk.choices.map((c) => ({ ...c, finish_reason: c.finish_reason ?? 'stop' }));
      assertSchema(schemas.textCompletion, { ...chunk, choices }, 'stream chunk');
    }
    assert.equal(chunks[0]?.choices[0]?.finish_reason, null);
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), 'Hello from the mock');
    assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'one id for the whole stream');
    assert.equal(chunks.findLast((c) => c.choices.length > 0)?.choices[0]?.finish_reason, 'stop');
    const last = chunks.at(-1);
    assert.deepEqual(last?.choices, []);
    assert.deepEqual([last?.usage?.prompt_tokens, last?.usage?.completion_tokens], [9, 4]);

    const plain = await client().completions.create({
      model: 'gpt-4o-mini',
      prompt: 'Say hello',
      stream: true,
    });
    const texts: string[] = [];
    for await (const chunk of plain) {
      assert.equal(chunk.usage, undefined);
      assert.equal(chunk.choices.length, 1);
      texts.push(chunk.choices[0]?.text ?? '');
    }
    assert.equal(texts.join(''), 'Hello from the mock');
  });

  test("OpenAI's reasoning models get max_completion_tokens, which is all they take; others keep max_tokens", async () => {
    // Legacy Completions with OpenAI's default of 16, then chat with the client's own limit, whole and streamed.
    await client().completions.create({ model: 'o3-mini', prompt: 'Say hello' });
    await client().chat.completions.create({
      model: 'gpt-5-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 50,
    });
    const stream = await client().chat.completions.create({
      model: 'o4-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 60,
      stream: true,
    });
    for await (const _chunk of stream) {
      // drained
    }
    // Both given: the one reasoning models take wins, as OpenAI would refuse the pair.
    await client().chat.completions.create({
      model: 'o3',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 70,
      max_completion_tokens: 80,
    });
    await client().chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      max_tokens: 90,
    });
    const limits = t.mock.requests.map((r) => {
      const b = r.body as Record<string, unknown>;
      return [b.model, b.max_tokens, b.max_completion_tokens];
    });
    assert.deepEqual(limits, [
      ['o3-mini', undefined, 16],
      ['gpt-5-mini', undefined, 50],
      ['o4-mini', undefined, 60],
      ['o3', undefined, 80],
      ['gpt-4o-mini', 90, undefined],
    ]);
  });

  test("OpenAI's Completions-only models go to its /v1/completions, whole and streamed", async () => {
    const whole = await client().completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hello',
      stop: ['\n'],
    });
    assertSchema(schemas.textCompletion, whole, 'completion');
    assert.equal(whole.choices[0]?.text, 'Hello from the mock');
    assert.equal(whole.choices[0]?.finish_reason, 'stop');
    assert.deepEqual([whole.usage?.prompt_tokens, whole.usage?.completion_tokens], [9, 4]);
    const sent = t.mock.requests[0];
    assert.equal(sent?.path, '/v1/completions');
    assert.deepEqual(sent?.body, {
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hello',
      stop: ['\n'],
      max_tokens: 16,
      stream: false,
    });

    const stream = await client().completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say hello',
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    assert.equal(chunks.map((c) => c.choices[0]?.text ?? '').join(''), 'Hello from the mock');
    assert.equal(chunks.findLast((c) => c.choices.length > 0)?.choices[0]?.finish_reason, 'stop');
    assert.deepEqual(chunks.at(-1)?.usage?.completion_tokens, 4);
    const streamed = t.mock.requests[1]?.body as Record<string, unknown>;
    assert.equal(t.mock.requests[1]?.path, '/v1/completions');
    assert.deepEqual(streamed.stream_options, { include_usage: true });

    // A one-turn chat request for such a model is served the same way (OpenAI's chat API would refuse it).
    const chat = await client().chat.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      messages: [{ role: 'user', content: 'Say hello' }],
      max_completion_tokens: 30,
    });
    assertSchema(schemas.completion, chat, 'chat completion');
    assert.equal(chat.choices[0]?.message.content, 'Hello from the mock');
    assert.equal((t.mock.requests[2]?.body as { max_tokens?: number } | undefined)?.max_tokens, 30);
  });

  test('an Anthropic model serves completions too (translated both ways)', async () => {
    const data = await client().completions.create({ model: 'claude-3-5-haiku-latest', prompt: 'Say hello' });
    assertSchema(schemas.textCompletion, data, 'completion');
    assert.equal(data.choices[0]?.text, 'Hello from the mock');
    assert.equal(t.mock.requests[0]?.dialect, 'anthropic');
    assert.equal((t.mock.requests[0]?.body as { max_tokens?: number } | undefined)?.max_tokens, 16);
  });

  test('what chat cannot do is a 422 naming the field; nothing reaches a provider', async () => {
    const refused: [Record<string, unknown>, string, RegExp][] = [
      [{ prompt: 'x', echo: true }, 'echo', /echo is not supported/],
      [{ prompt: 'x', suffix: 'tail' }, 'suffix', /suffix/],
      [{ prompt: 'x', best_of: 3 }, 'best_of', /best_of/],
      [{ prompt: ['a', 'b'] }, 'prompt', /2 prompts/],
      [{ prompt: [1, 2, 3] }, 'prompt', /tokens/],
      [{ prompt: [[1], [2]] }, 'prompt', /tokens/],
      [{ prompt: [''] }, 'prompt', /empty/],
      [{ prompt: '' }, 'prompt', /./],
      [{}, 'prompt', /prompt/],
      [{ prompt: 'x', logprobs: 6 }, 'logprobs', /./],
      [{ prompt: 'x', max_tokens: 0 }, 'max_tokens', /./],
    ];
    for (const [fields, param, message] of refused) {
      const res = await postJson(`${t.gw.url}/v1/completions`, { model: 'gpt-4o-mini', ...fields });
      const body = (await res.json()) as { error: { param: string | null; message: string; type: string } };
      assert.equal(res.status, 422, JSON.stringify(fields));
      assertSchema(schemas.error, body, 'error');
      assert.equal(body.error.param, param, JSON.stringify(fields));
      assert.match(body.error.message, message, JSON.stringify(fields));
    }
    await assert.rejects(
      client().completions.create({ model: 'gpt-4o-mini', prompt: 'x', echo: true }),
      (err: unknown) => err instanceof OpenAI.UnprocessableEntityError && err.param === 'echo',
    );
    const bad = await postJson(`${t.gw.url}/v1/completions`, '{"model": "gpt-4o-mini", "prompt": ');
    assert.equal(bad.status, 400);
    assert.equal(t.mock.requests.length, 0);
  });

  test('listed in /openapi.json', async () => {
    const doc = (await (await fetch(`${t.gw.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    assert.ok(doc.paths['/v1/completions'], 'the route is documented');
  });
});
