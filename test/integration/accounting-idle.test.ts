/**
 * The database opens at start-up, not at the first usage batch (opening PGlite takes seconds and used to
 * stall the requests in flight): with usage records on, /health/ready answers only once it is open and
 * says so; with nothing that needs it (no usage records, no database keys) it is never opened.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

async function readiness(
  gw: TestGateway,
): Promise<{ code: number; body: { status: string; database?: string } }> {
  const res = await fetch(`${gw.url}/health/ready`);
  return { code: res.status, body: (await res.json()) as { status: string; database?: string } };
}

describe('database opened at start-up', () => {
  let mock: MockUpstream;
  let gw: TestGateway | undefined;
  before(async () => {
    mock = await MockUpstream.start();
  });
  after(async () => {
    await gw?.close();
    await mock.close();
  });

  it('with usage records on (embedded PGlite): open and migrated before the gateway is ready', async () => {
    gw = await startGateway({ mock, env: { USAGE_ENABLED: 'true', USAGE_FLUSH_INTERVAL_MS: '10' } });
    const database = gw.gateway.stores.database();
    assert.equal(database.kind, 'pglite');
    assert.ok(database.isReady(), 'createGateway returned with the database open');
    assert.deepEqual(await readiness(gw), { code: 200, body: { status: 'ready', database: 'open' } });
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 200);
    await gw.gateway.close();
    gw = undefined;
  });

  it('with nothing that needs it: never opened (an idle embedded setup stays light)', async () => {
    gw = await startGateway({ mock, env: { USAGE_ENABLED: 'false' } });
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await readiness(gw), { code: 200, body: { status: 'ready', database: 'unused' } });
    const health = (await (await fetch(`${gw.url}/health`)).json()) as {
      dependencies: { database: { status: string } };
    };
    assert.equal(health.dependencies.database.status, 'unused');
  });
});
