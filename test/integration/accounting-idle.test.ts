/**
 * An idle gateway never opens its database: the usage recorder's periodic flush has nothing to write, so
 * an embedded PGlite (seconds to open, hundreds of MB) is not started for nothing. The first record opens it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';

describe('usage recorder on an idle gateway', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({ mock, env: { USAGE_ENABLED: 'true', USAGE_FLUSH_INTERVAL_MS: '10' } });
  });
  after(async () => {
    await gw?.close();
    await mock.close();
  });

  async function databaseStatus(): Promise<string> {
    const health = (await (await fetch(`${gw.url}/health`)).json()) as {
      dependencies: { database: { status: string } };
    };
    return health.dependencies.database.status;
  }

  it('flushes with nothing queued leave the database closed; a record opens it', async () => {
    // Let the 10 ms flush timer fire many times.
    const until = Date.now() + 200;
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await databaseStatus(), 'unused');
    const res = await postJson(`${gw.url}/v1/chat/completions`, {
      model: 'gpt-4o-mini',
      messages: userMessage(),
    });
    assert.equal(res.status, 200);
    let status = await databaseStatus();
    for (let i = 0; i < 300 && status !== 'ok'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await databaseStatus();
    }
    assert.equal(status, 'ok', 'the first usage record opened (and migrated) the database');
  });
});
