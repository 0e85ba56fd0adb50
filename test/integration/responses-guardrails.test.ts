/**
 * Streamed `/v1/responses` under a guardrail policy that checks answers: the guard replaces the canonical
 * request (masked, translated), and the Responses state must survive it — the streamed Response echoes the
 * request's fields, a stored one can be retrieved and chained with `previous_response_id`, and
 * `store: false` is honoured.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const KEY = 'sk-gw-responses-guarded-0123456789';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');

describe('streamed Responses under an output-checking policy', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { GUARDRAILS_DEFAULT_POLICY: 'pii' },
      yaml: `auth:\n  mode: keys\n  keys:\n    - { name: a, key_sha256: ${sha(KEY)}, user_id: a }\n`,
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    mock.setAnswer({ chunks: ['Hello', ' there.'] });
  });

  const streamed = async (params: Record<string, unknown>) => {
    const stream = await client.responses.create({ model: 'gpt-4o', ...params, stream: true } as never);
    let created: Record<string, unknown> | null = null;
    let completed: Record<string, unknown> | null = null;
    for await (const event of stream as unknown as AsyncIterable<{ type: string; response?: unknown }>) {
      if (event.type === 'response.created') created = event.response as Record<string, unknown>;
      if (event.type === 'response.completed') completed = event.response as Record<string, unknown>;
    }
    assert.ok(created && completed, 'response.created and response.completed were sent');
    return { created, completed };
  };

  test('the streamed Response echoes the request fields, store: false included', async () => {
    const { created, completed } = await streamed({
      input: 'hi',
      store: false,
      instructions: 'Be brief',
      temperature: 0.2,
      metadata: { x: '1' },
      max_output_tokens: 77,
    });
    for (const response of [created, completed]) {
      assert.deepEqual(
        [
          response.store,
          response.instructions,
          response.temperature,
          response.metadata,
          response.max_output_tokens,
        ],
        [false, 'Be brief', 0.2, { x: '1' }, 77],
      );
    }
    await assert.rejects(client.responses.retrieve(completed.id as string), /404/);
  });

  test('a stored streamed response can be retrieved and chained; its values stay masked upstream', async () => {
    const { completed } = await streamed({ input: 'My address is jane.doe@example.com' });
    const id = completed.id as string;
    const stored = await client.responses.retrieve(id);
    assert.equal(stored.id, id);
    assert.equal(stored.status, 'completed');
    mock.reset();
    const next = await client.responses.create({
      model: 'gpt-4o',
      previous_response_id: id,
      input: 'And again?',
    });
    assert.equal(next.status, 'completed');
    const sent = JSON.stringify(mock.requests[0]?.body);
    assert.ok(sent.includes('<EMAIL_1>') && !sent.includes('jane.doe'), sent);
    assert.ok(sent.includes('Hello there.'), 'the earlier answer is part of the chained conversation');
  });

  test('the end-user id (safety_identifier, user) is checked like the input: masked before the provider', async () => {
    for (const field of ['safety_identifier', 'user']) {
      mock.reset();
      const answer = await client.responses.create({
        model: 'gpt-4o',
        input: 'hi',
        [field]: 'jane.doe@example.com',
      } as never);
      assert.equal((answer as { status: string }).status, 'completed');
      const sent = JSON.stringify(mock.requests[0]?.body);
      assert.ok(!sent.includes('jane.doe'), `${field}: ${sent}`);
      assert.ok(sent.includes('<EMAIL_1>'), `${field}: the masked id is still sent: ${sent}`);
    }
  });
});

describe('Responses under an input-only policy (the native body goes to OpenAI unless the guard changed it)', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { GUARDRAILS_DEFAULT_POLICY: 'inbound' },
      yaml: [
        'auth:\n  mode: keys\n  keys:\n',
        `    - { name: a, key_sha256: ${sha(KEY)}, user_id: a }\n`,
        "guardrails:\n  policies:\n    inbound:\n      input: true\n      output: false\n      entities: { '*': mask }\n",
      ].join(''),
    });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('an e-mail as safety_identifier or prompt_cache_key does not reach the provider', async () => {
    for (const field of ['safety_identifier', 'prompt_cache_key']) {
      mock.reset();
      mock.setAnswer({ chunks: ['Hello'] });
      await client.responses.create({
        model: 'gpt-4o',
        input: 'hi',
        [field]: 'jane.doe@example.com',
      } as never);
      const sent = JSON.stringify(mock.requests[0]?.body);
      assert.ok(!sent.includes('jane.doe'), `${field}: ${sent}`);
    }
  });
});
