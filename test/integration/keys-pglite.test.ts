/**
 * The same key lifecycle on the embedded database (PGlite, in memory): the default without DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

const ADMIN = 'admin-SECRET-pglite-0123456789';

describe('API keys on PGlite', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, env: { GATEWAY_ADMIN_KEY: ADMIN, GATEWAY_DATA_DIR: 'memory://' } });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('create, use, revoke, audit', async () => {
    assert.equal(gw.gateway.stores.database().kind, 'pglite');
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    const created = await fetch(`${gw.url}/admin/keys`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'local', user_id: 'me', allowed_models: ['gpt-4o-mini'] }),
    });
    assert.equal(created.status, 201);
    const { id, key } = (await created.json()) as { id: string; key: string };
    const chat = (model: string) =>
      postJson(
        `${gw.url}/v1/chat/completions`,
        { model, messages: userMessage() },
        { authorization: `Bearer ${key}` },
      );
    assert.equal((await chat('gpt-4o-mini')).status, 200);
    assert.equal((await chat('gpt-4o')).status, 403);
    const revoked = await fetch(`${gw.url}/admin/keys/${id}/revoke`, { method: 'POST', headers, body: '{}' });
    assert.equal(revoked.status, 200);
    assert.equal((await chat('gpt-4o-mini')).status, 401);
    const audit = (await (await fetch(`${gw.url}/admin/audit`, { headers })).json()) as {
      data: Array<{ action: string }>;
    };
    assert.deepEqual(audit.data.map((r) => r.action).sort(), ['key.create', 'key.revoke']);
  });
});
