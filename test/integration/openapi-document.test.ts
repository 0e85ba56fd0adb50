/**
 * /openapi.json describes what the server really answers (decision 0230, audit G F6): every operation has
 * its success status with a schema, create routes say 201 and answer 201, errors are OpenAI's envelope, the
 * model route is a usable path template, and the document's schemas compile (OpenAPI 3.1 = JSON Schema
 * 2020-12). The documentation never serialises: an answer with fields the schemas do not name is sent as it
 * was (an upstream's vendor field, an admin view's fields).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { type CaptureServer, startCaptureServer } from '../helpers/capture-server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { adminCall } from '../helpers/tenancy.js';

const ADMIN = 'admin-SECRET-openapi-0123456789';
/** An upstream answer with a vendor field and bytes JSON.stringify would change. */
const COMPLETION = `{"id": "chatcmpl-oa", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o-mini",
 "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi", "refusal": null}, "logprobs": null,
 "finish_reason": "stop"}], "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
 "vendor_score": 1.50, "x_trace": {"region": "eu"}}`;
const EMBEDDINGS = `{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.10, 1.0]}],
 "model": "text-embedding-3-small", "usage": {"prompt_tokens": 2, "total_tokens": 2}, "vendor": true}`;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

interface Operation {
  parameters?: Array<{ in: string; name: string }>;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

describe('the OpenAPI document describes the real answers', () => {
  let upstream: CaptureServer;
  let mock: MockUpstream;
  let gw: TestGateway;
  let doc: Doc;
  let ajv: Ajv2020;
  /** A gateway API key's header (an admin key turns key authentication on). */
  let auth: Record<string, string>;

  before(async () => {
    upstream = await startCaptureServer((req) => ({
      status: 200,
      body: req.url.endsWith('/embeddings') ? EMBEDDINGS : COMPLETION,
    }));
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: {
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        // A provider whose model ids contain "/".
        TOGETHER_API_KEY: 'together-test-SECRET-0123456789',
        GATEWAY_ADMIN_KEY: ADMIN,
        USAGE_ENABLED: 'true',
      },
    });
    await gw.gateway.stores.database().ready;
    doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as Doc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ ...doc, $id: 'openapi.json' });
    const key = await adminCall(gw, ADMIN, 'POST', '/admin/keys', { name: 'client', user_id: 'client' });
    auth = { authorization: `Bearer ${key.body.key}` };
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
    await upstream?.close();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => ({ path, method, op })),
    );
  /** The validator of a documented answer's body. */
  const validator = (path: string, method: string, status: string, type = 'application/json') => {
    const pointer = `openapi.json#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${status}/content/${type.replace('/', '~1')}/schema`;
    return ajv.compile({ $ref: pointer });
  };
  const assertBody = (path: string, method: string, status: number | string, body: unknown) => {
    const validate = validator(path, method, String(status));
    assert.ok(validate(body), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`);
  };
  const admin = (method: string, path: string, body?: unknown) => adminCall(gw, ADMIN, method, path, body);

  test('every operation documents a success answer; its schemas compile; paths are templates', () => {
    assert.equal(doc.openapi, '3.1.0');
    const ops = operations();
    assert.ok(ops.length > 60, `${ops.length} operations`);
    for (const { path, method, op } of ops) {
      const where = `${method} ${path}`;
      assert.ok(!path.includes('{*}') && !path.includes('*'), `${where}: a wildcard is no path template`);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const params = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(params.sort(), templated.sort(), `${where}: path parameters`);
      const statuses = Object.keys(op.responses);
      assert.ok(
        statuses.some((s) => /^2\d\d$/.test(s)),
        `${where}: no success answer (${statuses})`,
      );
      for (const [status, response] of Object.entries(op.responses)) {
        assert.match(status, /^([1-5]XX|[1-5]\d\d|default)$/, where);
        assert.ok(response.description, `${where} ${status}: a response needs a description`);
        if (status === '204') assert.equal(response.content, undefined, `${where}: 204 has no body`);
        else assert.ok(response.content, `${where} ${status}: no body schema`);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          assert.ok(media.schema, `${where} ${status} ${type}: no schema`);
          validator(path, method, status, type); // compiles, and every $ref resolves
        }
      }
      if (path.startsWith('/v1/') || path.startsWith('/admin/')) {
        assert.ok(
          statuses.some((s) => /^4(XX|\d\d)$/.test(s)),
          `${where}: its errors are not documented`,
        );
      }
    }
    const model = doc.paths['/v1/models/{model}']?.get;
    assert.ok(model, '/v1/models/{model}');
  });

  test('a chat completion is documented (JSON and a stream) and matches it, vendor field included', async () => {
    const ok = doc.paths['/v1/chat/completions']?.post?.responses['200'];
    assert.deepEqual(ok?.content?.['application/json']?.schema, {
      $ref: '#/components/schemas/CreateChatCompletionResponse',
    });
    assert.ok(ok?.content?.['text/event-stream']);
    const errors = doc.paths['/v1/chat/completions']?.post?.responses['4XX'];
    assert.ok(errors?.content?.['application/json']?.schema);

    const res = await postJson(
      `${gw.url}/v1/chat/completions`,
      {
        model: 'gpt-4o-mini',
        messages: userMessage(),
      },
      auth,
    );
    assert.equal(res.status, 200);
    assertBody('/v1/chat/completions', 'post', 200, await res.json());
    const embeddings = await postJson(
      `${gw.url}/v1/embeddings`,
      {
        model: 'text-embedding-3-small',
        input: 'x',
      },
      auth,
    );
    assertBody('/v1/embeddings', 'post', 200, await embeddings.json());
    const bad = await postJson(`${gw.url}/v1/chat/completions`, { model: 'gpt-4o-mini' }, auth);
    assert.equal(bad.status, 422);
    assertBody('/v1/chat/completions', 'post', '4XX', await bad.json());
    // The Anthropic routes document (and answer) Anthropic's error body.
    const count = await postJson(`${gw.url}/v1/messages/count_tokens`, { model: 'gpt-4o-mini' }, auth);
    assert.ok(count.status >= 400 && count.status < 500, String(count.status));
    assertBody('/v1/messages/count_tokens', 'post', '4XX', await count.json());
  });

  test('create routes are documented as 201 and answer 201, with the documented body', async () => {
    const creates = operations()
      .filter(({ op }) => op.responses['201'])
      .map(({ method, path }) => `${method.toUpperCase()} ${path}`)
      .sort();
    assert.deepEqual(creates, [
      'POST /admin/evals/runs',
      'POST /admin/experiments',
      'POST /admin/keys',
      'POST /admin/keys/{id}/rotate',
      'POST /admin/orgs',
      'POST /admin/prompts',
      'POST /admin/prompts/{id}/versions',
      'POST /admin/teams',
      'POST /console/session',
    ]);
    const check = async (path: string, template: string, body: unknown) => {
      const res = await admin('POST', path, body);
      assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
      assertBody(template, 'post', 201, res.body);
      return res.body as Record<string, unknown> & { id: string };
    };
    const org = await check('/admin/orgs', '/admin/orgs', { name: 'oa-org' });
    await check('/admin/teams', '/admin/teams', { name: 'oa-team', org_id: org.id });
    const key = await check('/admin/keys', '/admin/keys', { name: 'oa', user_id: 'oa-user' });
    await check(`/admin/keys/${key.id}/rotate`, '/admin/keys/{id}/rotate', {});
    const prompt = { id: 'oa-prompt', messages: [{ role: 'user', content: 'Hi' }], model: 'gpt-4o-mini' };
    await check('/admin/prompts', '/admin/prompts', prompt);
    await check('/admin/prompts/oa-prompt/versions', '/admin/prompts/{id}/versions', {
      messages: [{ role: 'user', content: 'Hello' }],
    });
    await check('/admin/experiments', '/admin/experiments', {
      id: 'oa-exp',
      variants: [
        { name: 'a', weight: 1, prompt: { id: 'oa-prompt', version: 1 } },
        { name: 'b', weight: 1, prompt: { id: 'oa-prompt', version: 2 } },
      ],
    });
    // The rest of the admin answers are documented as 200: one read of each kind matches its schema.
    for (const [path, template] of [
      ['/admin/keys', '/admin/keys'],
      [`/admin/keys/${key.id}`, '/admin/keys/{id}'],
      [`/admin/orgs/${org.id}`, '/admin/orgs/{id}'],
      ['/admin/prompts', '/admin/prompts'],
    ] as const) {
      const res = await admin('GET', path);
      assert.equal(res.status, 200, path);
      assertBody(template, 'get', 200, res.body);
    }
    const missing = await admin('GET', '/admin/keys/key_nope');
    assert.equal(missing.status, 404);
    assertBody('/admin/keys/{id}', 'get', '4XX', missing.body);
  });

  test('the documentation does not serialise: extra fields are sent as before', async () => {
    // Through the fast lane and through Fastify (`/%761/`), the upstream's bytes.
    for (const path of ['/v1/chat/completions', '/%761/chat/completions']) {
      const res = await postJson(`${gw.url}${path}`, { model: 'gpt-4o-mini', messages: userMessage() }, auth);
      assert.equal(await res.text(), COMPLETION, path);
    }
    const embeddings = await postJson(
      `${gw.url}/v1/embeddings`,
      {
        model: 'text-embedding-3-small',
        input: 'x',
      },
      auth,
    );
    assert.equal(await embeddings.text(), EMBEDDINGS);
    // An admin view keeps every field, documented or not (ApiKey names only some).
    const key = await admin('POST', '/admin/keys', { name: 'fields', user_id: 'u', metadata: { team: 'x' } });
    const view = (await admin('GET', `/admin/keys/${key.body.id}`)).body;
    for (const field of ['tier', 'allowed_models', 'metadata', 'guardrails', 'last_used_at', 'rpm_limit'])
      assert.ok(field in view, `GET /admin/keys/{id} keeps ${field}`);
    assert.deepEqual(view.metadata, { team: 'x' });
    const config = await admin('GET', '/admin/config');
    assert.equal(config.status, 200);
    assert.ok(Object.keys(config.body).length > 5, 'the configuration, whole');
  });

  test('the model route is /v1/models/{model}; ids with "/" still work', async () => {
    const op = doc.paths['/v1/models/{model}']?.get;
    assert.equal(op?.parameters?.[0]?.name, 'model');
    assert.equal(doc.paths['/v1/models/{*}'], undefined);
    const ids = (
      (await (await fetch(`${gw.url}/v1/models`, { headers: auth })).json()) as {
        data: Array<{ id: string }>;
      }
    ).data;
    const slashed = ids.find((m) => m.id.includes('/'));
    assert.ok(slashed, 'a model id with /');
    for (const path of [slashed.id, encodeURIComponent(slashed.id)]) {
      const res = await fetch(`${gw.url}/v1/models/${path}`, { headers: auth });
      assert.equal(res.status, 200, path);
      assertBody('/v1/models/{model}', 'get', 200, await res.json());
    }
  });
});
