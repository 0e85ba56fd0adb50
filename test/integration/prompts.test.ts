/**
 * Prompts, experiments and feedback end to end (DESIGN §12), on PGlite and on real PostgreSQL: the admin
 * API (versions immutable, labels moved atomically, diff, archive), a real gateway rendering prompts for
 * the `openai` SDK (`extra_body`) and for `/v1/prompts/{id}/completions` (JSON and streams), an experiment
 * splitting traffic sticky per end user with the variant on the answer and the usage record, and feedback
 * joined to the right variant in the report.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import OpenAI from 'openai';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, readSseData, startGateway, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/poll.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const ADMIN = 'admin-SECRET-prompts-0123456789';
const KEYS = { a: 'sk-gw-prompts-key-a-0123456789', b: 'sk-gw-prompts-key-b-0123456789' };
const skipPostgres = await requireServices('postgres');

const yamlKey = (name: string, key: string) => `
    - name: ${name}
      key_sha256: ${createHash('sha256').update(key).digest('hex')}
      user_id: ${name}`;
const YAML = `auth:
  mode: keys
  keys:${yamlKey('key-a', KEYS.a)}${yamlKey('key-b', KEYS.b)}
feedback:
  metrics:
    thumbs_up:
      type: boolean
    rating:
      type: numeric
      min: 1
      max: 5
`;

type Json = Record<string, unknown>;

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`prompts and experiments (${backend})`, {
    skip: backend === 'postgres' ? skipPostgres : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;

    before(async () => {
      mock = await MockUpstream.start();
      if (backend === 'postgres') database = await createTestDatabase('prompts');
      gw = await startGateway({
        mock,
        yaml: YAML,
        env: {
          USAGE_ENABLED: 'true',
          USAGE_FLUSH_INTERVAL_MS: '20',
          GATEWAY_ADMIN_KEY: ADMIN,
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
      });
      await gw.gateway.stores.database().ready;
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await database?.drop();
    });

    const db = () => gw.gateway.stores.database().db;
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const client = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
    const chat = (body: unknown, key = KEYS.a, headers: Record<string, string> = {}) =>
      postJson(`${gw.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}`, ...headers });
    const upstreamBody = () => mock.requests.at(-1)?.body as Json;
    const record = async (requestId: string) => {
      const row = await until(
        `usage record ${requestId}`,
        () =>
          db().selectFrom('usage_records').selectAll().where('request_id', '=', requestId).executeTakeFirst(),
        (found) => found !== undefined,
      );
      assert.ok(row);
      return row;
    };

    const summarise = {
      id: 'summarise',
      messages: [
        { role: 'system', content: 'You summarise in {{language}}. Keep <tags> & "quotes".' },
        { role: 'user', content: 'Text: {{text}}' },
      ],
      variables: { language: { type: 'string' }, text: { type: 'string' } },
      model: 'gpt-4o-mini',
      params: { temperature: 0.2 },
      note: 'first',
    };

    test('admin: create, next version, labels, list, diff, conflicts and bad templates', async () => {
      const created = await admin('POST', '/admin/prompts', summarise);
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal(created.body.version, 1);
      assert.equal((await admin('POST', '/admin/prompts', summarise)).status, 409);

      const v2 = await admin('POST', '/admin/prompts/summarise/versions', {
        ...summarise,
        id: undefined,
        messages: [{ role: 'system', content: 'Summarise briefly in {{language}}.' }, summarise.messages[1]],
        note: 'shorter',
      });
      assert.equal(v2.status, 201, JSON.stringify(v2.body));
      assert.equal(v2.body.version, 2);

      assert.equal(
        (await admin('PUT', '/admin/prompts/summarise/labels/production', { version: 1 })).status,
        200,
      );
      const moved = await admin('PUT', '/admin/prompts/summarise/labels/staging', { version: 2 });
      assert.deepEqual([moved.body.version, moved.body.previous], [2, null]);
      assert.equal(
        (await admin('PUT', '/admin/prompts/summarise/labels/staging', { version: 9 })).status,
        404,
      );

      const list = await admin('GET', '/admin/prompts');
      const item = (list.body.data as Json[]).find((p) => p.id === 'summarise');
      assert.deepEqual(item?.labels, { production: 1, staging: 2 });
      assert.equal(item?.latest_version, 2);
      const versions = await admin('GET', '/admin/prompts/summarise/versions');
      assert.deepEqual(
        (versions.body.data as Json[]).map((v) => v.version),
        [2, 1],
      );

      const diff = await admin('GET', '/admin/prompts/summarise/diff?from=1&to=2');
      assert.equal(diff.status, 200);
      assert.match(String(diff.body.unified), /^-You summarise in \{\{language\}\}/m);
      assert.match(String(diff.body.unified), /^\+Summarise briefly in \{\{language\}\}\./m);
      assert.deepEqual(Object.keys(diff.body.changed as Json), ['note']);
      const audit = await admin('GET', '/admin/audit?limit=10');
      const actions = (audit.body.data as Json[]).map((e) => `${e.action} ${e.target}`);
      for (const action of [
        'prompt.create summarise',
        'prompt.version summarise',
        'prompt.label summarise',
      ]) {
        assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
      }

      const undeclared = await admin('POST', '/admin/prompts', {
        id: 'bad',
        messages: [{ role: 'user', content: 'Hi {{name}}' }],
        variables: ['other'],
      });
      assert.equal(undeclared.status, 422);
      assert.equal((undeclared.body.error as Json).param, 'variables.name');
    });

    test('versions are immutable: no route changes one, and the database refuses an UPDATE', async () => {
      const before1 = await admin('GET', '/admin/prompts/summarise/versions/1');
      for (const method of ['PUT', 'PATCH']) {
        const res = await admin(method, '/admin/prompts/summarise/versions/1', { messages: [] });
        // No route changes a version: the path answers 405 for anything but reading it.
        assert.equal(res.status, 405, `${method} must not exist`);
      }
      await assert.rejects(
        sql`update prompt_versions set note = 'changed' where prompt_id = 'summarise' and version = 1`.execute(
          db(),
        ),
        /immutable/,
      );
      // Adding versions leaves the earlier ones as they were.
      await admin('POST', '/admin/prompts/summarise/versions', {
        messages: [{ role: 'user', content: 'x' }],
      });
      assert.deepEqual((await admin('GET', '/admin/prompts/summarise/versions/1')).body, before1.body);
    });

    test('labels move atomically: concurrent readers always see one of the versions', async () => {
      const moves = Array.from({ length: 30 }, (_, i) =>
        admin('PUT', '/admin/prompts/summarise/labels/canary', { version: (i % 2) + 1 }),
      );
      const reads = Array.from({ length: 30 }, async () => {
        const row = await db()
          .selectFrom('prompt_labels')
          .select('version')
          .where('prompt_id', '=', 'summarise')
          .where('label', '=', 'canary')
          .executeTakeFirst();
        return row?.version ?? null;
      });
      const statuses = (await Promise.all(moves)).map((r) => r.status);
      assert.ok(
        statuses.every((s) => s === 200),
        JSON.stringify(statuses),
      );
      for (const seen of await Promise.all(reads)) assert.ok(seen === null || seen === 1 || seen === 2);
      const rows = await db().selectFrom('prompt_labels').selectAll().where('label', '=', 'canary').execute();
      assert.equal(rows.length, 1, 'one row per label, whatever the interleaving');
    });

    test('the openai SDK renders a prompt via extra_body; prompt never reaches the provider', async () => {
      mock.reset();
      const { data, response } = await client(KEYS.a)
        .chat.completions.create(
          {
            model: 'ignored-by-the-prompt',
            messages: [{ role: 'user', content: 'and one more thing' }],
            // @ts-expect-error the gateway's extension field
            prompt: {
              id: 'summarise',
              label: 'production',
              variables: { language: 'French', text: 'a & b' },
            },
          },
          {},
        )
        .withResponse();
      assert.ok(data.choices[0]?.message);
      assert.equal(response.headers.get('x-gateway-prompt-version'), 'summarise@1');
      const sent = upstreamBody();
      assert.equal(sent.prompt, undefined);
      assert.equal(sent.model, 'gpt-4o-mini', "the version's model");
      assert.equal(sent.temperature, 0.2, "the version's params");
      assert.deepEqual(sent.messages, [
        { role: 'system', content: 'You summarise in French. Keep <tags> & "quotes".' },
        { role: 'user', content: 'Text: a & b' },
        { role: 'user', content: 'and one more thing' },
      ]);
      const row = await record(String(response.headers.get('x-gateway-request-id')));
      assert.deepEqual([row.prompt_id, row.prompt_version, row.experiment_id], ['summarise', 1, null]);
    });

    test('a missing or undeclared variable is a 422 naming it; an unknown prompt a 404', async () => {
      const missing = await chat({
        model: 'gpt-4o-mini',
        messages: [],
        prompt: { id: 'summarise', variables: { language: 'en' } },
      });
      assert.equal(missing.status, 422);
      const error = ((await missing.json()) as { error: Json }).error;
      assert.equal(error.param, 'prompt.variables.text');
      assert.match(String(error.message), /text/);
      const extra = await chat({
        model: 'gpt-4o-mini',
        messages: [],
        prompt: { id: 'summarise', version: 1, variables: { language: 'en', text: 't', tone: 'dry' } },
      });
      assert.equal(((await extra.json()) as { error: Json }).error.param, 'prompt.variables.tone');
      // On /v1/prompts/{id}/completions the variables are the body's `variables`: param names that field.
      for (const [variables, param] of [
        [{ language: 'en' }, 'variables.text'],
        [{ language: 'en', text: 't', tone: 'dry' }, 'variables.tone'],
        [{ language: 3, text: 't' }, 'variables.language'],
      ] as const) {
        const direct = await postJson(
          `${gw.url}/v1/prompts/summarise/completions`,
          { version: 1, variables },
          { authorization: `Bearer ${KEYS.a}` },
        );
        assert.equal(direct.status, 422);
        assert.equal(((await direct.json()) as { error: Json }).error.param, param);
      }
      const unknown = await chat({
        model: 'gpt-4o-mini',
        messages: [],
        prompt: { id: 'nope', variables: {} },
      });
      assert.equal(unknown.status, 404);
    });

    test('POST /v1/prompts/{id}/completions renders with variables, JSON and streaming', async () => {
      mock.reset();
      const res = await postJson(
        `${gw.url}/v1/prompts/summarise/completions`,
        { variables: { language: 'German', text: 'tides' }, label: 'staging' },
        { authorization: `Bearer ${KEYS.a}` },
      );
      assert.equal(res.status, 200, await res.text().catch(() => ''));
      assert.equal(res.headers.get('x-gateway-prompt-version'), 'summarise@2');
      assert.equal(((upstreamBody().messages as Json[])[0] as Json).content, 'Summarise briefly in German.');

      const stream = await postJson(
        `${gw.url}/v1/prompts/summarise/completions`,
        { variables: { language: 'German', text: 'tides' }, stream: true },
        { authorization: `Bearer ${KEYS.a}` },
      );
      assert.equal(stream.status, 200);
      const events = await readSseData(stream.response);
      assert.equal(events.at(-1), '[DONE]');
      assert.equal(upstreamBody().stream, true);
      assert.equal(
        ((upstreamBody().messages as Json[])[0] as Json).content,
        'You summarise in German. Keep <tags> & "quotes".',
      );
    });

    test('an experiment splits sticky per end user; the variant is on the answer and the usage record', async () => {
      const created = await admin('POST', '/admin/experiments', {
        id: 'exp-brief',
        variants: [
          { name: 'control', weight: 50, prompt: { id: 'summarise', version: 1 } },
          { name: 'brief', weight: 50, prompt: { id: 'summarise', version: 2 } },
        ],
        sticky_by: 'user',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const seen = new Map<string, string>();
      const ids: Array<{ id: string; variant: string }> = [];
      for (let round = 0; round < 2; round++) {
        for (let u = 0; u < 16; u++) {
          const res = await chat({
            model: 'gpt-4o-mini',
            messages: [{ role: 'user', content: 'go' }],
            user: `end-user-${u}`,
            experiment: 'exp-brief',
            prompt: { id: 'summarise', variables: { language: 'en', text: 't' } },
          });
          assert.equal(res.status, 200);
          const variant = String(res.headers.get('x-gateway-variant'));
          const version = res.headers.get('x-gateway-prompt-version');
          assert.equal(version, variant === 'control' ? 'summarise@1' : 'summarise@2');
          if (round === 0) seen.set(`end-user-${u}`, variant);
          else assert.equal(variant, seen.get(`end-user-${u}`), 'the same end user gets the same variant');
          ids.push({ id: String(res.headers.get('x-gateway-request-id')), variant });
        }
      }
      assert.deepEqual(new Set(seen.values()), new Set(['control', 'brief']), 'both variants are served');
      for (const { id, variant } of ids.slice(0, 4)) {
        const row = await record(id);
        assert.deepEqual([row.experiment_id, row.variant], ['exp-brief', variant]);
        assert.equal(row.prompt_version, variant === 'control' ? 1 : 2);
      }
    });

    test('feedback joins the right variant, only for the key that made the request, idempotently', async () => {
      const served: Record<string, string[]> = { control: [], brief: [] };
      for (let u = 0; u < 12; u++) {
        const res = await chat({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'go' }],
          user: `fb-user-${u}`,
          experiment: 'exp-brief',
          prompt: { id: 'summarise', variables: { language: 'en', text: 't' } },
        });
        served[String(res.headers.get('x-gateway-variant'))]?.push(
          String(res.headers.get('x-gateway-request-id')),
        );
      }
      const feedback = (body: unknown, key = KEYS.a) =>
        postJson(`${gw.url}/v1/feedback`, body, { authorization: `Bearer ${key}` });
      // Feedback may arrive before the usage record is written: this instance knows the owner already.
      const first = served.brief?.[0] as string;
      const foreign = await feedback({ request_id: first, metric: 'thumbs_up', value: true }, KEYS.b);
      const madeUp = await feedback(
        { request_id: 'no-such-request', metric: 'thumbs_up', value: true },
        KEYS.b,
      );
      // Another key's request is answered as a made-up id is: the answer does not tell that it exists.
      assert.equal(foreign.status, 200);
      assert.equal(madeUp.status, 200);
      assert.equal(((await foreign.json()) as Json).request_known, false);
      assert.equal(((await madeUp.json()) as Json).request_known, false);
      for (const id of served.brief ?? []) {
        assert.equal((await feedback({ request_id: id, metric: 'thumbs_up', value: true })).status, 200);
      }
      for (const id of served.control ?? []) {
        assert.equal((await feedback({ request_id: id, metric: 'thumbs_up', value: false })).status, 200);
      }
      // The same feedback again, then a changed value: one row, the last value.
      await feedback({ request_id: first, metric: 'rating', value: 2 });
      const again = await feedback({ request_id: first, metric: 'rating', value: 5, comment: 'great' });
      assert.equal(again.status, 200);
      const rows = await db().selectFrom('feedback').selectAll().where('request_id', '=', first).execute();
      assert.deepEqual(rows.map((r) => [r.metric, r.value]).sort(), [
        ['rating', 5],
        ['thumbs_up', 1],
      ]);

      const bad = await feedback({ request_id: first, metric: 'clicks', value: 1 });
      assert.equal(bad.status, 422);
      assert.equal(((await bad.json()) as { error: Json }).error.param, 'metric');
      const noValue = await feedback({ request_id: first, metric: 'rating' });
      assert.equal(noValue.status, 422);
      assert.match(JSON.stringify(await noValue.json()), /value/);
      const outOfRange = await feedback({ request_id: first, metric: 'rating', value: 9 });
      assert.equal(((await outOfRange.json()) as { error: Json }).error.param, 'value');

      for (const id of [...(served.brief ?? []), ...(served.control ?? [])]) await record(id);
      const report = await admin('GET', '/admin/experiments/exp-brief/report');
      assert.equal(report.status, 200);
      const variants = report.body.variants as Array<{
        name: string;
        requests: number;
        feedback: Record<string, Json>;
      }>;
      const brief = variants.find((v) => v.name === 'brief');
      const control = variants.find((v) => v.name === 'control');
      assert.equal(brief?.feedback.thumbs_up?.n, served.brief?.length);
      assert.equal(brief?.feedback.thumbs_up?.mean, 1);
      assert.equal(control?.feedback.thumbs_up?.n, served.control?.length);
      assert.equal(control?.feedback.thumbs_up?.mean, 0);
      assert.ok((brief?.requests ?? 0) >= (served.brief?.length ?? 0));
    });

    test("a rotated key leaves feedback on its predecessor's requests, and the report counts it", async () => {
      const key = await admin('POST', '/admin/keys', {
        name: 'fb-rotating',
        user_id: 'fb-rot',
        allow_end_users: true,
      });
      assert.equal(key.status, 201, JSON.stringify(key.body));
      const res = await chat(
        {
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'go' }],
          user: 'fb-rot',
          experiment: 'exp-brief',
          prompt: { id: 'summarise', variables: { language: 'en', text: 't' } },
        },
        String(key.body.key),
      );
      assert.equal(res.status, 200);
      const requestId = String(res.headers.get('x-gateway-request-id'));
      const variant = String(res.headers.get('x-gateway-variant'));
      const rotated = await admin('POST', `/admin/keys/${key.body.id}/rotate`, { grace_period_seconds: 0 });
      assert.equal(rotated.status, 201);
      await record(requestId);
      const ratingN = async () => {
        const report = await admin('GET', '/admin/experiments/exp-brief/report');
        const variants = report.body.variants as Array<{ name: string; feedback: Record<string, Json> }>;
        return Number(variants.find((v) => v.name === variant)?.feedback.rating?.n ?? 0);
      };
      const before = await ratingN();
      const feedback = (key: string) =>
        postJson(
          `${gw.url}/v1/feedback`,
          { request_id: requestId, metric: 'rating', value: 4 },
          { authorization: `Bearer ${key}` },
        );
      const foreign = await feedback(KEYS.b);
      assert.equal(((await foreign.json()) as Json).request_known, false, "another key still can't");
      const own = await feedback(String(rotated.body.key));
      assert.equal(own.status, 200, 'the rotation chain owns the request');
      assert.equal(((await own.json()) as Json).request_known, true);
      assert.equal(await ratingN(), before + 1, 'the report joins it to the request');
    });

    test('stop and start: a stopped experiment serves the request as if there were none', async () => {
      assert.equal((await admin('POST', '/admin/experiments/exp-brief/stop')).body.status, 'stopped');
      const res = await chat({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'go' }],
        experiment: 'exp-brief',
        prompt: { id: 'summarise', variables: { language: 'en', text: 't' } },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-gateway-variant'), null);
      assert.equal(res.headers.get('x-gateway-prompt-version'), 'summarise@1', 'the production label');
      assert.equal((await admin('POST', '/admin/experiments/exp-brief/start')).body.status, 'running');
    });

    test('an experiment attached to a label: requests naming the prompt join it, streams too', async () => {
      const created = await admin('POST', '/admin/experiments', {
        id: 'exp-attached',
        variants: [
          { name: 'v1', weight: 1, prompt: { id: 'summarise', version: 1 } },
          { name: 'v2', weight: 1, prompt: { id: 'summarise', version: 2 } },
        ],
        sticky_by: 'session',
        prompt: { id: 'summarise', label: 'production' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const variants = new Set<string>();
      for (let s = 0; s < 12; s++) {
        const res = await postJson(
          `${gw.url}/v1/prompts/summarise/completions`,
          { variables: { language: 'en', text: 't' }, stream: s % 2 === 0 },
          { authorization: `Bearer ${KEYS.a}`, 'x-session-id': `s-${s}` },
        );
        assert.equal(res.status, 200);
        const variant = String(res.headers.get('x-gateway-variant'));
        assert.equal(res.headers.get('x-gateway-prompt-version'), `summarise@${variant.slice(1)}`);
        variants.add(variant);
        await res.text();
      }
      assert.deepEqual(variants, new Set(['v1', 'v2']));
      // A request naming a version, or another label, does not join.
      const pinned = await chat({
        model: 'gpt-4o-mini',
        prompt: { id: 'summarise', version: 2, variables: { language: 'en', text: 't' } },
      });
      assert.equal(pinned.headers.get('x-gateway-variant'), null);
      const staging = await chat({
        model: 'gpt-4o-mini',
        prompt: { id: 'summarise', label: 'staging', variables: { language: 'en', text: 't' } },
      });
      assert.equal(staging.headers.get('x-gateway-variant'), null);
      await admin('POST', '/admin/experiments/exp-attached/stop');
      const after = await chat({
        model: 'gpt-4o-mini',
        prompt: { id: 'summarise', variables: { language: 'en', text: 't' } },
      });
      assert.equal(after.headers.get('x-gateway-variant'), null, 'stopped: no longer joined');
    });

    test('OpenAPI documents the prompt, feedback and admin routes', async () => {
      const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      for (const path of [
        '/v1/prompts/{id}/completions',
        '/v1/feedback',
        '/admin/prompts',
        '/admin/prompts/{id}/labels/{label}',
        '/admin/experiments/{id}/report',
      ]) {
        assert.ok(doc.paths[path], `${path} in /openapi.json`);
      }
      assert.match(
        JSON.stringify(doc.paths['/v1/chat/completions']),
        /Gateway extension: render a stored prompt/,
      );
    });

    test('archiving a prompt: requests get 404, its versions stay readable', async () => {
      await admin('POST', '/admin/prompts', { id: 'old', messages: [{ role: 'user', content: 'hi' }] });
      await admin('PUT', '/admin/prompts/old/labels/production', { version: 1 });
      assert.equal((await chat({ model: 'gpt-4o-mini', prompt: { id: 'old' } })).status, 200);
      assert.equal((await admin('POST', '/admin/prompts/old/archive')).body.archived, true);
      assert.equal((await chat({ model: 'gpt-4o-mini', prompt: { id: 'old' } })).status, 404);
      assert.equal((await admin('GET', '/admin/prompts/old/versions/1')).status, 200);
      const listed = await admin('GET', '/admin/prompts');
      assert.ok(!(listed.body.data as Json[]).some((p) => p.id === 'old'));
    });
  });
}

describe('feedback before the usage record is written, at another instance (postgres)', {
  skip: skipPostgres,
}, () => {
  let mock: MockUpstream;
  let database: TestDatabase;
  let serving: TestGateway;
  let other: TestGateway;
  const env = (url: string, flushMs: string) => ({
    USAGE_ENABLED: 'true',
    USAGE_FLUSH_INTERVAL_MS: flushMs,
    USAGE_BATCH_SIZE: '1000',
    GATEWAY_ADMIN_KEY: ADMIN,
    DATABASE_URL: url,
  });

  before(async () => {
    mock = await MockUpstream.start();
    database = await createTestDatabase('prompts_early');
    // The serving instance writes its usage records only when it closes (a flush interval of a minute).
    serving = await startGateway({ mock, yaml: YAML, env: env(database.url, '60000') });
    other = await startGateway({ mock, yaml: YAML, env: env(database.url, '20') });
    await serving.gateway.stores.database().ready;
    await other.gateway.stores.database().ready;
  });
  after(async () => {
    await serving?.close();
    await other?.close();
    await mock?.close();
    await database?.drop();
  });

  test('stored at once, joined once the record lands, and only for the key that made the request', async () => {
    const created = await fetch(`${other.url}/admin/experiments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'exp-models',
        variants: [{ name: 'only', weight: 1, model: 'gpt-4o-mini' }],
      }),
    });
    assert.equal(created.status, 201);
    const res = await postJson(
      `${serving.url}/v1/chat/completions`,
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], experiment: 'exp-models' },
      { authorization: `Bearer ${KEYS.a}` },
    );
    assert.equal(res.headers.get('x-gateway-variant'), 'only');
    const requestId = String(res.headers.get('x-gateway-request-id'));
    const send = (key: string, value: boolean) =>
      postJson(
        `${other.url}/v1/feedback`,
        { request_id: requestId, metric: 'thumbs_up', value },
        { authorization: `Bearer ${key}` },
      );
    const early = await send(KEYS.a, true);
    assert.equal(early.status, 200);
    assert.equal(((await early.json()) as Json).request_known, false);
    // Another key's feedback on the unknown request is stored under that key and never joins.
    assert.equal((await send(KEYS.b, false)).status, 200);

    await serving.close(); // flushes the usage record
    const report = await until(
      'the report joins the feedback',
      async () =>
        (await (
          await fetch(`${other.url}/admin/experiments/exp-models/report`, {
            headers: { authorization: `Bearer ${ADMIN}` },
          })
        ).json()) as { variants: Array<{ name: string; requests: number; feedback: Record<string, Json> }> },
      (r) => r.variants[0]?.requests === 1,
    );
    assert.deepEqual(
      [report.variants[0]?.feedback.thumbs_up?.n, report.variants[0]?.feedback.thumbs_up?.mean],
      [1, 1],
      "only key a's feedback counts",
    );
    // Now the record exists: key b is answered as for an unknown id, and its feedback is not stored.
    const foreign = await send(KEYS.b, false);
    assert.equal(foreign.status, 200);
    assert.equal(((await foreign.json()) as Json).request_known, false);
  });
});
