/**
 * The non-chat endpoints (DESIGN §3): health (live, ready, details), the OpenAPI document and its UI, the
 * models list and retrieval, and which of them need a gateway key.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, TEST_KEYS, type TestGateway } from '../helpers/gateway.js';
import { assertSchema, loadOpenAISchemas, type OpenAISchemas } from '../helpers/openai-schemas.js';

const TOGETHER_KEY = 'together-test-SECRET-0123456789';
const SLASH_ID = 'together/meta-llama/Llama-3.3-70B-Instruct-Turbo';

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

describe('health, docs and models endpoints', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let schemas: OpenAISchemas;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });

  before(async () => {
    schemas = loadOpenAISchemas();
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, env: { TOGETHER_API_KEY: TOGETHER_KEY } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('GET /health/live → 200', async () => {
    const res = await get('/health/live');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'alive' });
  });

  test('GET /health/ready → 200 when serving', async () => {
    const res = await get('/health/ready');
    assert.equal(res.status, 200);
    // No usage records in these tests: the database is not needed, so not opened.
    assert.deepEqual(await res.json(), { status: 'ready', database: 'unused' });
  });

  test('GET /health lists each provider, says why one is not offered, and leaks no secret', async () => {
    const res = await get('/health');
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text) as {
      status: string;
      version: string;
      uptime_seconds: number;
      providers: Record<string, { type: string; offered: boolean; reason?: string }>;
    };
    assert.equal(body.status, 'ok');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.equal(typeof body.uptime_seconds, 'number');
    for (const name of ['openai', 'anthropic', 'gemini', 'together']) {
      assert.equal(body.providers[name]?.offered, true, name);
    }
    assert.equal(body.providers.azure?.offered, false);
    assert.match(body.providers.azure?.reason ?? '', /AZURE_OPENAI_API_KEY/);
    for (const secret of [...Object.values(TEST_KEYS), TOGETHER_KEY]) assert.ok(!text.includes(secret));
  });

  test('GET /openapi.json is the OpenAPI document of the API', async () => {
    const res = await get('/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const doc = JSON.parse(await res.text()) as {
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>
      >;
    };
    assert.match(doc.openapi, /^3\./);
    const post = doc.paths['/v1/chat/completions']?.post;
    assert.ok(post?.requestBody, 'chat completions documents its request body');
    const schema = post.requestBody.content['application/json']?.schema as
      | { required?: string[] }
      | undefined;
    assert.deepEqual(schema?.required, ['model', 'messages']);
    assert.ok(doc.paths['/v1/models']?.get, '/v1/models documented');
    assert.ok(doc.paths['/health/ready']?.get, '/health/ready documented');
  });

  test('GET /docs serves the API explorer (HTML)', async () => {
    const res = await get('/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await res.text(), /<html[\s>][\s\S]*swagger/i);
  });

  test('GET /v1/models: OpenAI list format with every offered provider, none of the others', async () => {
    const res = await get('/v1/models');
    assert.equal(res.status, 200);
    const body = (await res.json()) as { object: string; data: Array<{ id: string; owned_by: string }> };
    assertSchema(schemas.models, body, 'models list');
    const ids = body.data.map((m) => m.id);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    for (const id of ['gpt-4o', 'claude-3-5-haiku-latest', 'gemini-2.5-flash', SLASH_ID]) {
      assert.ok(ids.includes(id), `${id} listed`);
    }
    assert.equal(body.data.find((m) => m.id === 'gpt-4o')?.owned_by, 'openai');
    assert.ok(!ids.some((id) => id.startsWith('groq/') || id.startsWith('llama-3.3')), 'groq has no key');
  });

  test('GET /v1/models/{id}: a model, including ids with slashes (raw or %2F-encoded)', async () => {
    const one = await get('/v1/models/gpt-4o');
    assert.equal(one.status, 200);
    assert.deepEqual(
      { ...((await one.json()) as Record<string, unknown>), created: 0 },
      { id: 'gpt-4o', object: 'model', created: 0, owned_by: 'openai' },
    );
    for (const path of [SLASH_ID, encodeURIComponent(SLASH_ID)]) {
      const res = await get(`/v1/models/${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(((await res.json()) as { id: string }).id, SLASH_ID);
    }
  });

  test('GET /v1/models/{id} finds every name chat serves without listing it; an unconfigured provider is a 404', async () => {
    const served: Array<[string, string]> = [
      ['openai/gpt-4o-mini', 'openai'],
      ['gpt-4o-mini-2024-07-18', 'openai'],
      ['anthropic/claude-sonnet-4-5', 'anthropic'],
    ];
    for (const [id, owner] of served) {
      const chat = await postJson(`${gw.url}/v1/chat/completions`, {
        model: id,
        messages: [{ role: 'user', content: 'hi' }],
      });
      assert.equal(chat.status, 200, `chat serves ${id}`);
      const res = await get(`/v1/models/${id}`);
      assert.equal(res.status, 200, id);
      const body = (await res.json()) as Record<string, unknown>;
      assertSchema(schemas.models, { object: 'list', data: [body] }, id);
      assert.deepEqual({ ...body, created: 0 }, { id, object: 'model', created: 0, owned_by: owner });
      const anthropic = await get(`/v1/models/${id}`, { 'anthropic-version': '2023-06-01' });
      assert.equal(anthropic.status, 200, `${id} (Anthropic shape)`);
      assert.equal(((await anthropic.json()) as { type: string; id: string }).id, id);
    }
    // Groq has no key here: chat refuses it, and so does retrieve.
    const unconfigured = await get('/v1/models/groq/llama-3.3-70b-versatile');
    assert.equal(unconfigured.status, 404);
    assert.equal(((await unconfigured.json()) as ErrorBody).error.code, 'model_not_found');
  });

  test('GET /v1/models/{unknown} → 404 with the OpenAI error shape', async () => {
    const res = await get('/v1/models/no-such-model');
    assert.equal(res.status, 404);
    const body = (await res.json()) as ErrorBody;
    assertSchema(schemas.error, body, 'unknown model');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.code, 'model_not_found');
    assert.equal(body.error.param, 'model');
    assert.match(body.error.message, /no-such-model/);
  });

  test('unknown routes → 404; a known path with another method → 405 with Allow; OpenAI error shape', async () => {
    const missing = await get('/v1/nothing');
    assert.equal(missing.status, 404);
    assertSchema(schemas.error, await missing.json(), 'not found');
    const wrong = await get('/v1/chat/completions');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'POST');
    const body = (await wrong.json()) as ErrorBody;
    assertSchema(schemas.error, body, 'method not allowed');
    assert.equal(body.error.code, 'method_not_allowed');
    assert.match(body.error.message, /GET is not allowed for \/v1\/chat\/completions; use POST/);
    // A path with a parameter: the stored response's id route takes GET and DELETE, not POST.
    const stored = await fetch(`${gw.url}/v1/responses/resp_123`, { method: 'POST' });
    if (stored.status !== 404) {
      assert.equal(stored.status, 405);
      assert.deepEqual(stored.headers.get('allow')?.split(', ').sort(), ['DELETE', 'GET']);
    }
    await stored.text();
    const models = await fetch(`${gw.url}/v1/models`, { method: 'DELETE' });
    assert.equal(models.status, 405);
    assert.equal(models.headers.get('allow'), 'GET');
    await models.text();
  });

  test('while shutting down: ready → 503, /v1 → 503 OpenAI error, live stays 200', async () => {
    gw.gateway.lifecycle.shuttingDown = true;
    try {
      assert.equal((await get('/health/ready')).status, 503);
      assert.equal((await get('/health')).status, 503);
      assert.equal((await get('/health/live')).status, 200);
      const res = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('connection'), 'close');
      assertSchema(schemas.error, await res.json(), 'shutting down');
    } finally {
      gw.gateway.lifecycle.shuttingDown = false;
    }
  });
});

describe('with auth.mode: keys', () => {
  const KEY = 'gw-endpoints-SECRET-0123456789';
  const LIMITED_KEY = 'gw-endpoints-LIMITED-0123456789';
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    const hash = createHash('sha256').update(KEY).digest('hex');
    const limited = createHash('sha256').update(LIMITED_KEY).digest('hex');
    gw = await startGateway({
      mock,
      yaml:
        `auth:\n  mode: keys\n  keys:\n    - name: k\n      key_sha256: ${hash}\n      user_id: u1\n` +
        `    - name: limited\n      key_sha256: ${limited}\n      user_id: u2\n` +
        '      allowed_models: [gpt-4o-mini, claude-haiku-4-5]\n',
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('health, docs and the OpenAPI document stay open', async () => {
    for (const path of ['/health', '/health/live', '/health/ready', '/openapi.json', '/docs']) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 200, path);
    }
  });

  test('/v1/models needs the key', async () => {
    const anonymous = await fetch(`${gw.url}/v1/models`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as ErrorBody).error.type, 'authentication_error');
    const keyed = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(keyed.status, 200);
  });

  test('a key with allowed models lists and retrieves only those; another model is a 404', async () => {
    const auth = { authorization: `Bearer ${LIMITED_KEY}` };
    const list = (await (await fetch(`${gw.url}/v1/models`, { headers: auth })).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(list.data.map((m) => m.id).sort(), ['claude-haiku-4-5', 'gpt-4o-mini']);
    assert.equal((await fetch(`${gw.url}/v1/models/gpt-4o-mini`, { headers: auth })).status, 200);
    const other = await fetch(`${gw.url}/v1/models/gpt-4o`, { headers: auth });
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as ErrorBody).error.code, 'model_not_found');
    // A key without a model list still sees every model.
    const all = (await (
      await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as { data: Array<{ id: string }> };
    assert.ok(all.data.some((m) => m.id === 'gpt-4o'));
  });

  test("the Anthropic SDK's models.list and models.retrieve get Anthropic's shapes, pages and errors", async () => {
    const limited = new Anthropic({ baseURL: gw.url, apiKey: LIMITED_KEY, maxRetries: 0 });
    const seen: Anthropic.ModelInfo[] = [];
    for await (const model of limited.models.list()) seen.push(model);
    assert.deepEqual(seen.map((m) => m.id).sort(), ['claude-haiku-4-5', 'gpt-4o-mini']);
    for (const m of seen) {
      assert.equal(m.type, 'model');
      assert.equal(m.display_name, m.id);
      assert.ok(!Number.isNaN(Date.parse(m.created_at)), m.created_at);
    }
    const one = await limited.models.retrieve('gpt-4o-mini');
    assert.deepEqual([one.type, one.id], ['model', 'gpt-4o-mini']);
    await assert.rejects(limited.models.retrieve('gpt-4o'), Anthropic.NotFoundError, 'not an allowed model');

    // Pages of `limit`, walked forwards by the SDK (after_id) and backwards by before_id.
    const client = new Anthropic({ baseURL: gw.url, apiKey: KEY, maxRetries: 0 });
    const everything = (await fetch(`${gw.url}/v1/models`, {
      headers: { authorization: `Bearer ${KEY}` },
    }).then((r) => r.json())) as { data: Array<{ id: string }> };
    const paged: string[] = [];
    for await (const model of client.models.list({ limit: 3 })) paged.push(model.id);
    assert.deepEqual(
      paged,
      everything.data.map((m) => m.id),
      'every model once, in order',
    );
    const first = await client.models.list({ limit: 3 });
    assert.equal(first.data.length, 3);
    assert.equal(first.has_more, true);
    assert.equal(first.first_id, paged[0]);
    assert.equal(first.last_id, paged[2]);
    const back = await client.models.list({ limit: 2, before_id: paged[3] as string });
    assert.deepEqual(
      back.data.map((m) => m.id),
      paged.slice(1, 3),
    );
    assert.equal(back.has_more, true);
    await assert.rejects(client.models.list({ limit: 0 }), Anthropic.BadRequestError);
    await assert.rejects(client.models.list({ after_id: 'no-such-model' }), Anthropic.BadRequestError);
  });

  test('a request without a key gets 401 whatever its body (auth before parsing and validation)', async () => {
    for (const body of ['{not json', JSON.stringify({ model: 'gpt-4o', messages: [] })]) {
      const res = await postJson(`${gw.url}/v1/chat/completions`, body);
      assert.equal(res.status, 401, body);
      assert.equal(((await res.json()) as ErrorBody).error.code, 'invalid_api_key');
    }
    assert.equal(mock.requests.length, 0);
  });
});
