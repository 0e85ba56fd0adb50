/**
 * The Responses API beyond create/retrieve, with the official `openai` SDK against the gateway in front of
 * the mock upstream (decision 0234): `background: true` refused before any provider call, `cancel` of a
 * stored response, `inputTokens.count` (OpenAI's own count natively, the local tokenizer otherwise),
 * `compact` (not supported: 404), and DELETE of a response OpenAI stores reaching OpenAI too.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { startGateway, TEST_KEYS, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';

const KEY_A = 'sk-gw-subroutes-tenant-a-0123456789';
const KEY_B = 'sk-gw-subroutes-tenant-b-0123456789';
const sha = (k: string) => createHash('sha256').update(k).digest('hex');
const KEYS_YAML = `auth:\n  mode: keys\n  keys:\n    - { name: tenant-a, key_sha256: ${sha(KEY_A)}, user_id: a }\n    - { name: tenant-b, key_sha256: ${sha(KEY_B)}, user_id: b }\n`;
const NATIVE = 'gpt-4o';
const TRANSLATED = 'claude-3-5-haiku-latest';

/** The SDK's error of a call that must fail. */
async function failure(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof OpenAI.APIError, `expected an APIError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

describe('Responses sub-routes with the openai SDK', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let client: OpenAI;
  let other: OpenAI;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, yaml: KEYS_YAML });
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
    other = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });
  beforeEach(() => {
    mock.reset();
    mock.setAnswer({ usage: { prompt: 9, completion: 4, cached: 0 } });
  });

  for (const model of [NATIVE, TRANSLATED]) {
    test(`${model}: background: true is a 400 naming the parameter, before any provider call`, async () => {
      const err = await failure(client.responses.create({ model, input: 'Say hello', background: true }));
      assert.equal(err.status, 400);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.code, 'unsupported_parameter');
      assert.equal(err.param, 'background');
      assert.match(err.message, /[Bb]ackground mode .*not supported through this gateway/);
      assert.match(err.message, /usage/);
      assert.match(err.message, /budgets/);
      assert.equal(mock.requests.length, 0);
    });

    test(`${model}: background: false is served as before`, async () => {
      const response = await client.responses.create({ model, input: 'Say hello', background: false });
      assert.equal(response.status, 'completed');
      assert.equal(response.output_text, 'Hello from the mock');
    });
  }

  test('cancel: a stored response is a 400 (only background responses can be cancelled); others 404', async () => {
    const response = await client.responses.create({ model: NATIVE, input: 'Say hello' });
    mock.reset();
    const err = await failure(client.responses.cancel(response.id));
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.match(err.message, /only responses created with background: true can be cancelled/);
    assert.ok(err instanceof OpenAI.NotFoundError === false);
    // Another key's response, or no such response: not found, never a 405.
    assert.ok((await failure(other.responses.cancel(response.id))) instanceof OpenAI.NotFoundError);
    assert.ok((await failure(client.responses.cancel('resp_nope'))) instanceof OpenAI.NotFoundError);
    assert.equal(mock.requests.length, 0);
    // Still there, unchanged.
    assert.equal((await client.responses.retrieve(response.id)).status, 'completed');
  });

  test('inputTokens.count on an OpenAI model: OpenAI counts it, the body passed through', async () => {
    const { data, response } = await client.responses.inputTokens
      .count({ model: NATIVE, input: 'one two three', instructions: 'Be brief.' })
      .withResponse();
    assert.deepEqual(data, { object: 'response.input_tokens', input_tokens: 8 });
    assert.equal(response.headers.get('x-token-count-source'), 'provider');
    const upstream = mock.requests[0];
    assert.equal(upstream?.method, 'POST');
    assert.equal(upstream?.path, '/v1/responses/input_tokens');
    assert.equal(upstream?.headers.authorization, `Bearer ${TEST_KEYS.openai}`);
    assert.deepEqual(upstream?.body, { model: NATIVE, input: 'one two three', instructions: 'Be brief.' });
  });

  test('inputTokens.count: counted locally when OpenAI fails or lacks it, and for a translated model', async () => {
    for (const status of [503, 404]) {
      mock.reset();
      mock.enqueue({ kind: 'status', status });
      const fallback = await client.responses.inputTokens.count({ model: NATIVE, input: 'one two three' });
      assert.equal(fallback.object, 'response.input_tokens');
      assert.ok(fallback.input_tokens > 3, `${status}: local count ${fallback.input_tokens}`);
      assert.equal(mock.requests.length, 1);
    }
    mock.reset();
    mock.enqueue({ kind: 'status', status: 400 });
    const refused = await failure(client.responses.inputTokens.count({ model: NATIVE, input: 'x' }));
    assert.equal(refused.status, 400);
    mock.reset();
    const short = await client.responses.inputTokens.count({ model: TRANSLATED, input: 'Hi' });
    const long = await client.responses.inputTokens.count({
      model: TRANSLATED,
      input: 'Hi '.repeat(200),
      instructions: 'Be brief.',
    });
    assert.equal(mock.requests.length, 0);
    assert.ok(short.input_tokens > 0);
    assert.ok(long.input_tokens > short.input_tokens + 100, `${short.input_tokens} → ${long.input_tokens}`);
  });

  test('inputTokens.count: a translated chain counts the stored conversation; bad bodies are refused', async () => {
    const first = await client.responses.create({ model: TRANSLATED, input: 'word '.repeat(300) });
    const alone = await client.responses.inputTokens.count({ model: TRANSLATED, input: 'And now?' });
    const chained = await client.responses.inputTokens.count({
      model: TRANSLATED,
      input: 'And now?',
      previous_response_id: first.id,
    });
    assert.ok(
      chained.input_tokens > alone.input_tokens + 200,
      `${alone.input_tokens} → ${chained.input_tokens}`,
    );
    const unknown = await failure(
      client.responses.inputTokens.count({
        model: TRANSLATED,
        input: 'x',
        previous_response_id: 'resp_nope',
      }),
    );
    assert.equal(unknown.status, 400);
    assert.equal(unknown.param, 'previous_response_id');
    const bad = await failure(
      client.responses.inputTokens.count({
        model: TRANSLATED,
        input: [{ role: 'robot', content: 'x' }],
      } as never),
    );
    assert.equal(bad.status, 422);
    assert.equal(bad.param, 'input[0].role');
  });

  test('compact is a 404 not_found saying it is not supported, not a 405', async () => {
    const err = await failure(client.responses.compact({ model: NATIVE, input: 'Say hello' }));
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal(err.code, 'not_found');
    assert.match(err.message, /not supported by this gateway/);
    assert.equal(mock.requests.length, 0);
  });

  test('DELETE of a response OpenAI stores deletes it at OpenAI, with its credentials, then here', async () => {
    const response = await client.responses.create({ model: NATIVE, input: 'Say hello' });
    mock.reset();
    await client.responses.delete(response.id);
    const upstream = mock.requests[0];
    assert.equal(upstream?.method, 'DELETE');
    assert.equal(upstream?.path, `/v1/responses/${response.id}`);
    assert.equal(upstream?.headers.authorization, `Bearer ${TEST_KEYS.openai}`);
    assert.equal(mock.requests.length, 1);
    assert.ok((await failure(client.responses.retrieve(response.id))) instanceof OpenAI.NotFoundError);
  });

  test('DELETE: OpenAI failing is a 502 that keeps the local copy; the retry deletes both', async () => {
    const response = await client.responses.create({ model: NATIVE, input: 'Say hello' });
    mock.reset();
    mock.enqueue({ kind: 'status', status: 500 });
    const err = await failure(client.responses.delete(response.id));
    assert.equal(err.status, 502);
    assert.match(err.message, /could not be deleted at openai.*retry/);
    assert.equal((await client.responses.retrieve(response.id)).id, response.id);
    await client.responses.delete(response.id);
    assert.deepEqual(
      mock.requests.map((r) => r.method),
      ['DELETE', 'DELETE'],
    );
    assert.ok((await failure(client.responses.retrieve(response.id))) instanceof OpenAI.NotFoundError);
  });

  test('DELETE: a response OpenAI no longer knows (404 there) is deleted here', async () => {
    const response = await client.responses.create({ model: NATIVE, input: 'Say hello' });
    mock.reset();
    mock.enqueue({ kind: 'status', status: 404 });
    const res = await fetch(`${gw.url}/v1/responses/${response.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${KEY_A}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: response.id, object: 'response', deleted: true });
    assert.equal(mock.requests[0]?.method, 'DELETE');
    assert.ok((await failure(client.responses.retrieve(response.id))) instanceof OpenAI.NotFoundError);
  });

  test('DELETE of a translated response, or of another key, never reaches a provider', async () => {
    const translated = await client.responses.create({ model: TRANSLATED, input: 'Say hello' });
    const native = await client.responses.create({ model: NATIVE, input: 'Say hello' });
    mock.reset();
    assert.ok((await failure(other.responses.delete(native.id))) instanceof OpenAI.NotFoundError);
    await client.responses.delete(translated.id);
    assert.equal(mock.requests.length, 0);
  });
});

describe('DELETE of a response whose deployment left the configuration', () => {
  test('is deleted locally only, and said so in the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-responses-'));
    const mock = await MockUpstream.start();
    try {
      const routes =
        'routes:\n  mine:\n    deployments:\n      - { name: openai-eu, provider: openai, model: gpt-4o }\n';
      const env = { GATEWAY_DATA_DIR: dir };
      const first = await startGateway({ mock, yaml: KEYS_YAML + routes, env });
      const client = new OpenAI({ baseURL: `${first.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
      const response = await client.responses.create({ model: 'mine', input: 'Say hello' });
      // Stored once it can be read back (the write does not hold up the answer).
      await until(
        'stored',
        () =>
          client.responses.retrieve(response.id).then(
            () => true,
            () => false,
          ),
        Boolean,
      );
      await first.close();

      const second = await startGateway({ mock, yaml: KEYS_YAML, env });
      try {
        const later = new OpenAI({ baseURL: `${second.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
        mock.reset();
        await later.responses.delete(response.id);
        assert.equal(mock.requests.length, 0);
        assert.ok((await failure(later.responses.retrieve(response.id))) instanceof OpenAI.NotFoundError);
        assert.ok(
          second.logs.some((l) => l.includes('responses.delete_local_only') && l.includes('openai-eu')),
        );
      } finally {
        await second.close();
      }
    } finally {
      await mock.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
