/**
 * Tenant isolation of the cache (DESIGN §7 Isolation): two keys of two tenants (created by the admin API,
 * different user ids) never share an exact entry, a semantic match or an in-flight call — B's identical
 * request is a MISS and reaches the upstream, and B never sees A's answer or a HIT caused by A. On
 * PostgreSQL + Redis and on the defaults (PGlite + in-process cache). With `auth.mode: none` there is one
 * tenant and sharing works as before; `cache.scope: global` shares across keys on purpose.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import {
  ADMIN_KEY,
  adminHeaders,
  deterministic,
  startCacheGateway,
  thresholdGuard,
  wordEmbedder,
} from '../helpers/cache.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import {
  createTestDatabase,
  REDIS_URL,
  requireServices,
  type TestDatabase,
  uniquePrefix,
} from '../helpers/services.js';

/** Long enough that a second request arrives while the first is still waiting for the upstream. */
const FIRST_BYTE_MS = 400;

interface Reply {
  status: number;
  cache: string;
  coalesced: string | null;
  content: string;
}

async function ask(url: string, key: string | null, body: unknown, headers: Record<string, string> = {}) {
  const auth: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await postJson(`${url}/v1/chat/completions`, body, { ...auth, ...headers });
  const json = (await res.json()) as { choices?: Array<{ message: { content: string } }> };
  const reply: Reply = {
    status: res.status,
    cache: `${res.headers.get('x-cache-status')}/${res.headers.get('x-cache-type')}`,
    coalesced: res.headers.get('x-cache-coalesced'),
    content: json.choices?.[0]?.message.content ?? '',
  };
  assert.equal(reply.status, 200, JSON.stringify(json));
  return reply;
}

async function createKey(url: string, name: string, userId: string): Promise<string> {
  const res = await fetch(`${url}/admin/keys`, {
    method: 'POST',
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ name, user_id: userId }),
  });
  const body = (await res.json()) as { key: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return body.key;
}

const skipServices = await requireServices('postgres', 'redis');

for (const backend of ['postgres+redis', 'pglite+memory'] as const) {
  describe(`cache scope: two tenants (${backend})`, {
    skip: backend === 'postgres+redis' ? skipServices : undefined,
  }, () => {
    let mock: MockUpstream;
    let gw: TestGateway;
    let database: TestDatabase | undefined;
    let keyA: string;
    let keyB: string;
    const embedder = wordEmbedder();

    before(async () => {
      mock = await MockUpstream.start({ firstByteMs: FIRST_BYTE_MS });
      if (backend === 'postgres+redis') database = await createTestDatabase('cache_scope');
      gw = await startCacheGateway({
        mock,
        env: {
          AUTH_MODE: 'keys',
          ENABLE_SEMANTIC_CACHE: 'true',
          SEMANTIC_CACHE_TIMEOUT_MS: '1000',
          ...(database
            ? { DATABASE_URL: database.url, REDIS_URL, REDIS_KEY_PREFIX: uniquePrefix('scope') }
            : {}),
        },
        cache: { embedder, guard: thresholdGuard(0.9) },
      });
      assert.equal(gw.gateway.config.cache.scope, 'team', 'the default scope');
      // PGlite takes seconds to open on a busy machine: the admin API answers 503 until it is up.
      await gw.gateway.stores.database().ready;
      keyA = await createKey(gw.url, 'tenant-a', 'user-a');
      keyB = await createKey(gw.url, 'tenant-b', 'user-b');
    });
    after(async () => {
      await gw?.close();
      await mock?.close();
      await database?.drop();
    });
    beforeEach(() => mock.reset());

    test("exact cache: B's identical temperature-0 request is a MISS, reaches the upstream, gets its own answer", async () => {
      const body = deterministic(`exact ${backend}`);
      mock.setAnswer({ text: 'answer made for A', chunks: ['answer made for A'] });
      assert.equal((await ask(gw.url, keyA, body)).cache, 'MISS/MISS');
      const again = await ask(gw.url, keyA, body);
      assert.equal(again.cache, 'HIT/EXACT', 'the cache works within a scope');
      assert.equal(mock.requests.length, 1);

      mock.setAnswer({ text: 'answer made for B', chunks: ['answer made for B'] });
      const b = await ask(gw.url, keyB, body);
      assert.equal(b.cache, 'MISS/MISS');
      assert.equal(b.content, 'answer made for B');
      assert.equal(mock.requests.length, 2, "B's request reached the upstream");
      // A stream is served from the same entries: B's stream finds B's answer, never A's.
      const stream = await postJson(
        `${gw.url}/v1/chat/completions`,
        { ...body, stream: true },
        { authorization: `Bearer ${keyB}` },
      );
      assert.equal(stream.headers.get('x-cache-status'), 'HIT');
      const text = (await readSseData(stream.response))
        .slice(0, -1)
        .map((e) => (JSON.parse(e) as { choices: Array<{ delta?: { content?: string } }> }).choices[0]?.delta)
        .map((d) => d?.content ?? '')
        .join('');
      assert.equal(text, 'answer made for B');
      assert.equal((await ask(gw.url, keyA, body)).content, 'answer made for A', "A's entry is still A's");
      assert.equal(mock.requests.length, 2);
    });

    test("semantic cache: A's paraphrase hits; B's paraphrase of A's question is a MISS", async () => {
      assert.equal(
        (await ask(gw.url, keyA, deterministic('What is the capital of France?'))).cache,
        'MISS/MISS',
      );
      assert.equal(
        (await ask(gw.url, keyA, deterministic('what is THE capital of france'))).cache,
        'HIT/SEMANTIC',
        'the semantic layer works within a scope',
      );
      assert.equal(mock.requests.length, 1);
      const b = await ask(gw.url, keyB, deterministic('capital of France: what is the?'));
      assert.equal(b.cache, 'MISS/MISS');
      assert.equal(mock.requests.length, 2);
    });

    test('single-flight: concurrent identical requests of two keys make two upstream calls; of one key, one', async () => {
      const twoKeys = deterministic(`in flight, two keys ${backend}`);
      const first = ask(gw.url, keyA, twoKeys);
      await mock.waitForRequest(1);
      const second = await ask(gw.url, keyB, twoKeys);
      assert.equal(second.cache, 'MISS/MISS');
      assert.equal(second.coalesced, null, "B did not wait for A's call");
      assert.equal((await first).cache, 'MISS/MISS');
      assert.equal(mock.requests.length, 2);

      mock.reset();
      const oneKey = deterministic(`in flight, one key ${backend}`);
      const leader = ask(gw.url, keyA, oneKey);
      await mock.waitForRequest(1);
      const joined = await ask(gw.url, keyA, oneKey);
      assert.equal(joined.cache, 'HIT/EXACT');
      assert.equal(joined.coalesced, 'true');
      assert.equal((await leader).cache, 'MISS/MISS');
      assert.equal(mock.requests.length, 1);
    });

    test('admin cache stats and clear still cover every scope', async () => {
      const stats = (await (
        await fetch(`${gw.url}/admin/cache/stats`, { headers: adminHeaders })
      ).json()) as {
        entries: number;
      };
      assert.ok(stats.entries >= 4, JSON.stringify(stats));
      const cleared = await fetch(`${gw.url}/admin/cache`, { method: 'DELETE', headers: adminHeaders });
      assert.ok(((await cleared.json()) as { deleted: number }).deleted >= 4);
      const body = deterministic(`exact ${backend}`);
      assert.equal((await ask(gw.url, keyA, body)).cache, 'MISS/MISS');
      assert.equal((await ask(gw.url, keyB, body)).cache, 'MISS/MISS');
    });
  });
}

describe('cache scope with auth.mode none: one tenant, everything shared', () => {
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start({ firstByteMs: FIRST_BYTE_MS });
    gw = await startCacheGateway({ mock, env: { AUTH_MODE: 'none' } });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });
  beforeEach(() => mock.reset());

  test('two end users share entries and in-flight calls', async () => {
    const body = deterministic('one tenant');
    assert.equal((await ask(gw.url, null, body, { 'x-user-id': 'alice' })).cache, 'MISS/MISS');
    assert.equal((await ask(gw.url, null, body, { 'x-user-id': 'bob' })).cache, 'HIT/EXACT');
    const inFlight = deterministic('one tenant, in flight');
    const leader = ask(gw.url, null, inFlight, { 'x-user-id': 'alice' });
    await mock.waitForRequest(2);
    const joined = await ask(gw.url, null, inFlight, { 'x-user-id': 'bob' });
    assert.equal(joined.coalesced, 'true');
    await leader;
    assert.equal(mock.requests.length, 2);
  });
});

describe('cache.scope: global shares across keys (an explicit choice)', () => {
  const keys = { a: 'sk-scope-global-A-0123456789', b: 'sk-scope-global-B-0123456789' };
  const yamlKey = (name: string, key: string) => `
    - name: ${name}
      key_sha256: ${createHash('sha256').update(key).digest('hex')}
      user_id: ${name}`;
  let mock: MockUpstream;
  let gw: TestGateway;

  before(async () => {
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: { AUTH_MODE: 'keys', GATEWAY_ADMIN_KEY: ADMIN_KEY, CACHE_SCOPE: 'global' },
      yaml: `auth:\n  keys:${yamlKey('global-a', keys.a)}${yamlKey('global-b', keys.b)}\n`,
    });
  });
  after(async () => {
    await gw?.close();
    await mock?.close();
  });

  test("B's identical request is A's HIT", async () => {
    const body = deterministic('shared on purpose');
    assert.equal((await ask(gw.url, keys.a, body)).cache, 'MISS/MISS');
    assert.equal((await ask(gw.url, keys.b, body)).cache, 'HIT/EXACT');
    assert.equal(mock.requests.length, 1);
  });
});
