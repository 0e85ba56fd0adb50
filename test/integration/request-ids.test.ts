/**
 * Request ids (DESIGN §7, §8): every answer — success, stream, cache hit, every kind of error — carries the
 * gateway's own UUIDv7 in `X-Gateway-Request-ID`, and `X-Request-ID` echoes the client's id (else carries the
 * gateway's). The client's id is kept as `client_request_id` and is never a uniqueness key: five requests
 * sent with one X-Request-ID are five usage rows, each under its own gateway id. PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validate, version } from 'uuid';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import {
  postJson,
  readSseData,
  startGateway,
  type TestGateway,
  useGateway,
  userMessage,
} from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const isUuidV7 = (id: string | null) => id !== null && validate(id) && version(id) === 7;

const skipPostgres = await requireServices('postgres');

for (const backend of ['pglite', 'postgres'] as const) {
  describe(`usage rows and request ids (${backend})`, {
    skip: backend === 'postgres' ? skipPostgres : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;

    before(async () => {
      mock = await MockUpstream.start();
      if (backend === 'postgres') database = await createTestDatabase('request_ids');
      gw = await startGateway({
        mock,
        env: {
          USAGE_ENABLED: 'true',
          USAGE_FLUSH_INTERVAL_MS: '20',
          AUTH_MODE: 'none',
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

    const rowsFor = async (clientId: string | null, gatewayIds: string[]) => {
      const db = gw.gateway.stores.database().db;
      for (let i = 0; i < 500; i++) {
        const rows = await db
          .selectFrom('usage_records')
          .select(['request_id', 'client_request_id', 'endpoint', 'status'])
          .where('request_id', 'in', gatewayIds)
          .execute();
        if (rows.length === gatewayIds.length) return rows;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.fail(`usage rows missing for ${clientId}`);
    };

    test('five requests with the same X-Request-ID are five usage rows, each under its own gateway id', async () => {
      const clientId = `reused-${backend}`;
      const gatewayIds: string[] = [];
      for (let i = 0; i < 5; i++) {
        // No temperature: not cacheable, so each request is its own upstream call.
        const res = await postJson(
          `${gw.url}/v1/chat/completions`,
          { model: 'gpt-4o-mini', messages: userMessage() },
          { 'x-request-id': clientId },
        );
        assert.equal(res.status, 200);
        await res.text();
        assert.equal(res.headers.get('x-request-id'), clientId, 'the client id is echoed');
        gatewayIds.push(res.headers.get('x-gateway-request-id') as string);
      }
      assert.ok(gatewayIds.every(isUuidV7), JSON.stringify(gatewayIds));
      assert.equal(new Set(gatewayIds).size, 5);
      const rows = await rowsFor(clientId, gatewayIds);
      assert.equal(rows.length, 5);
      for (const row of rows) {
        assert.equal(row.client_request_id, clientId);
        assert.equal(row.endpoint, 'chat');
        assert.equal(row.status, 'success');
      }
      const db = gw.gateway.stores.database().db;
      const all = await db
        .selectFrom('usage_records')
        .select('request_id')
        .where('client_request_id', '=', clientId)
        .execute();
      assert.equal(all.length, 5, 'no row was dropped as a duplicate');
    });

    test('without X-Request-ID: client_request_id is null and X-Request-ID carries the gateway id; embeddings are recorded as such', async () => {
      const res = await postJson(`${gw.url}/v1/embeddings`, { model: 'text-embedding-3-small', input: 'hi' });
      assert.equal(res.status, 200);
      await res.text();
      const gatewayId = res.headers.get('x-gateway-request-id') as string;
      assert.ok(isUuidV7(gatewayId));
      assert.equal(res.headers.get('x-request-id'), gatewayId);
      const [row] = await rowsFor(null, [gatewayId]);
      assert.equal(row?.client_request_id, null);
      assert.equal(row?.endpoint, 'embeddings');
    });
  });
}

describe('request id headers on every answer', () => {
  const t = useGateway({ env: { MAX_BODY_BYTES: '4096' } });
  const seen: string[] = [];

  /** Both headers, valid; X-Request-ID the client's when it sent one, else the gateway's. */
  const check = (headers: Headers, clientId: string | null, what: string) => {
    const gatewayId = headers.get('x-gateway-request-id');
    assert.ok(isUuidV7(gatewayId), `${what}: X-Gateway-Request-ID is a UUIDv7 (${gatewayId})`);
    assert.equal(headers.get('x-request-id'), clientId ?? gatewayId, `${what}: X-Request-ID`);
    assert.equal(headers.get('request-id'), gatewayId, `${what}: request-id (the Anthropic SDK's)`);
    seen.push(gatewayId as string);
  };
  const chat = (body: unknown, clientId: string | null = 'client-1') =>
    postJson(t.chatUrl, body, clientId ? { 'x-request-id': clientId } : {});

  test('success, stream and cache hit', async () => {
    const body = { model: 'gpt-4o-mini', messages: userMessage('ids'), temperature: 0 };
    const ok = await chat(body);
    assert.equal(ok.status, 200);
    check(ok.headers, 'client-1', 'success');
    const hit = await chat(body, null);
    assert.equal(hit.headers.get('x-cache-status'), 'HIT');
    check(hit.headers, null, 'cache hit');
    const stream = await chat({ ...body, messages: userMessage('ids stream'), stream: true });
    assert.equal(stream.status, 200);
    assert.equal((await readSseData(stream.response)).at(-1), '[DONE]');
    check(stream.headers, 'client-1', 'stream');
  });

  test('errors of every stage: 400, 404, 413, 422, an upstream error, an admin 401', async () => {
    const badJson = await chat('{"model":');
    assert.equal(badJson.status, 400);
    check(badJson.headers, 'client-1', 'invalid JSON');
    const invalid = await chat({ model: 'gpt-4o-mini' });
    assert.equal(invalid.status, 422);
    check(invalid.headers, 'client-1', 'validation error');
    const tooLarge = await chat({ model: 'gpt-4o-mini', messages: userMessage('x'.repeat(10_000)) });
    assert.equal(tooLarge.status, 413);
    check(tooLarge.headers, 'client-1', 'body too large');
    const unknownModel = await chat({ model: 'no-such-model', messages: userMessage() });
    assert.equal(unknownModel.status, 400);
    check(unknownModel.headers, 'client-1', 'unknown model');
    t.mock.enqueue({ kind: 'status', status: 400, message: 'upstream says no' });
    const upstream = await chat({ model: 'gpt-4o-mini', messages: userMessage() });
    assert.equal(upstream.status, 400);
    check(upstream.headers, 'client-1', 'upstream error');
    const notFound = await fetch(`${t.gw.url}/v1/nothing-here`, {
      headers: { 'x-request-id': 'client-404' },
    });
    assert.equal(notFound.status, 404);
    check(notFound.headers, 'client-404', 'not found');
    const admin = await fetch(`${t.gw.url}/admin/config`);
    assert.ok(admin.status === 401 || admin.status === 403 || admin.status === 404, String(admin.status));
    check(admin.headers, null, 'admin refused');
  });

  test('an unusable client id (non-ASCII, too long) is ignored: X-Request-ID carries the gateway id', async () => {
    for (const clientId of ['x'.repeat(129), 'caf\u00e9']) {
      const res = await fetch(t.chatUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': clientId },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: userMessage() }),
      }).catch(() => null);
      // fetch refuses non-ByteString header values on some runtimes; the long one always goes through.
      if (!res) continue;
      assert.equal(res.status, 200);
      check(res.headers, null, `client id ${clientId.slice(0, 10)}`);
    }
  });

  test('every answer had its own gateway id', () => {
    assert.ok(seen.length >= 10);
    assert.equal(new Set(seen).size, seen.length);
  });
});
