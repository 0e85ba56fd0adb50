/**
 * Bounded input (DESIGN §7; docs/decisions/0085-bounded-input.md), against a real gateway:
 * - 40 requests with a 1 MB `model` → 422 naming `model`, nothing kept: the maps keyed by client input stay
 *   empty and the heap does not grow by the ~40 MB the names would hold;
 * - every other identifier length-limited (422 naming the field);
 * - unknown bearer tokens: one database query per unknown key (negative cache, hashes only), a key that
 *   appears later works within the refresh interval, and per-source throttling answers 429 with
 *   Retry-After once a source spent its failed attempts — on PostgreSQL and on the embedded PGlite.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { KeyRepository } from '../../src/auth/keys.js';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { postJson, startGateway, type TestGateway, userMessage } from '../helpers/gateway.js';
import { createTestDatabase, requireServices, type TestDatabase } from '../helpers/services.js';

const skipPostgres = await requireServices('postgres');

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** A full garbage collection (so heap numbers are what is retained, not what is merely unswept). */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('long identifiers are refused before anything keeps them', () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  before(async () => {
    mock = await MockUpstream.start();
    gw = await startGateway({
      mock,
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_DEFAULT_CAPACITY: '1000' },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
  });

  test('40 requests with a 1 MB model: 422 on `model`, no map entry, no retained heap', async () => {
    const chatUrl = `${gw.url}/v1/chat/completions`;
    const upstreamBefore = mock.requests.length;
    // Warm up (JIT, pools, lazy modules) so the measurement sees only what the long names leave behind.
    for (let i = 0; i < 5; i++)
      await (await postJson(chatUrl, { model: 'gpt-4o', messages: userMessage() })).text();
    const before = gw.gateway.memory();
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    for (let i = 0; i < 40; i++) {
      // Each name distinct, as an attacker would send them.
      const model = `no-such-model-${i}-${'x'.repeat(1024 * 1024)}`;
      const res = await postJson(chatUrl, { model, messages: userMessage() });
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 422);
      assert.equal(body.error.param, 'model');
      assert.match(body.error.message, /256 characters/);
    }
    collect();
    const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
    assert.deepEqual(gw.gateway.memory(), before, 'no map keyed by client input gained an entry');
    assert.equal(mock.requests.length - upstreamBefore, 5, 'only the warm-up reached the upstream');
    // The names alone are 40 MB; keeping them (as the resolver memo once did) would show here.
    assert.ok(grownMb < 10, `heap grew by ${grownMb.toFixed(1)} MB`);
  });

  test('valid but distinct model names: each map stays within its bound', async () => {
    const chatUrl = `${gw.url}/v1/chat/completions`;
    for (let i = 0; i < 50; i++) {
      const res = await postJson(chatUrl, {
        model: `gpt-4o-${'m'.repeat(200)}-${i}`,
        messages: userMessage(),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const sizes = gw.gateway.memory();
    assert.ok(
      (sizes.resolver_memo ?? 0) >= 50 && (sizes.resolver_memo ?? 0) <= 10_000,
      JSON.stringify(sizes),
    );
    assert.ok((sizes.routing_latency ?? 0) <= 10_000, JSON.stringify(sizes));
    assert.ok((sizes.routing_breakers ?? 0) <= 10_000, JSON.stringify(sizes));
    assert.ok((sizes.ratelimit_buckets ?? 0) <= gw.gateway.config.rate_limit.max_memory_buckets);
  });

  test('other identifiers: 422 naming the field', async () => {
    const chatUrl = `${gw.url}/v1/chat/completions`;
    const upstreamBefore = mock.requests.length;
    const long = 'n'.repeat(300);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ user: long }, 'user'],
      [{ metadata: { ['k'.repeat(65)]: 'v' } }, 'metadata'],
      [{ messages: [{ role: 'user', content: 'hi', name: long }] }, 'messages[0].name'],
      [{ messages: [{ role: 'tool', content: 'x', tool_call_id: long }] }, 'messages[0].tool_call_id'],
      [{ tools: [{ type: 'function', function: { name: 'f'.repeat(65) } }] }, 'tools[0].function.name'],
    ];
    for (const [extra, param] of cases) {
      const res = await postJson(chatUrl, { model: 'gpt-4o', messages: userMessage(), ...extra });
      const body = (await res.json()) as ErrorBody;
      assert.equal(res.status, 422, `${param}: ${JSON.stringify(body)}`);
      assert.equal(body.error.param, param);
    }
    const embeddings = await postJson(`${gw.url}/v1/embeddings`, { model: 'e'.repeat(257), input: 'hi' });
    assert.equal(embeddings.status, 422);
    assert.equal(((await embeddings.json()) as ErrorBody).error.param, 'model');
    const header = await postJson(
      chatUrl,
      { model: 'gpt-4o', messages: userMessage() },
      { 'x-user-id': 'u'.repeat(129) },
    );
    assert.equal(header.status, 422);
    assert.equal(((await header.json()) as ErrorBody).error.param, 'X-User-ID');
    assert.equal(mock.requests.length, upstreamBefore, 'nothing reached the upstream');
  });
});

/** Counts the key lookups that reach the database (every instance; restored after the suite). */
function spyOnLookups(): { count(): number; restore(): void } {
  const original = KeyRepository.prototype.byHash;
  let calls = 0;
  KeyRepository.prototype.byHash = function (this: KeyRepository, hash: string) {
    calls++;
    return original.call(this, hash);
  };
  return {
    count: () => calls,
    restore: () => {
      KeyRepository.prototype.byHash = original;
    },
  };
}

const ADMIN = 'admin-SECRET-bounded-0123456789';

for (const backend of ['postgresql', 'pglite'] as const) {
  describe(`unknown bearer tokens (${backend})`, {
    skip: backend === 'postgresql' ? skipPostgres : undefined,
  }, () => {
    let db: TestDatabase | undefined;
    let mock: MockUpstream;
    let gw: TestGateway;
    let spy: ReturnType<typeof spyOnLookups>;
    before(async () => {
      if (backend === 'postgresql') db = await createTestDatabase('bounded');
      mock = await MockUpstream.start();
      gw = await startGateway({
        mock,
        env: {
          GATEWAY_ADMIN_KEY: ADMIN,
          ...(db ? { DATABASE_URL: db.url } : { GATEWAY_DATA_DIR: 'memory://' }),
          AUTH_REFRESH_INTERVAL_MS: '300',
          AUTH_FAILURES_PER_MINUTE: '6',
          AUTH_FAILURES_BURST: '5',
          // Sources told apart by X-Forwarded-For, as behind a load balancer.
          TRUST_PROXY: 'true',
        },
      });
      await gw.gateway.stores.database().ready;
      spy = spyOnLookups();
    });
    after(async () => {
      spy.restore();
      await gw.close();
      await mock.close();
      await db?.drop();
    });

    const chat = (key: string, source: string) =>
      postJson(
        `${gw.url}/v1/chat/completions`,
        { model: 'gpt-4o-mini', messages: userMessage() },
        { authorization: `Bearer ${key}`, 'x-forwarded-for': source },
      );

    test('the same unknown key: one database query, then the negative cache (hash only)', async () => {
      const unknown = `sk-gw-unknown-${randomBytes(8).toString('hex')}`;
      const start = spy.count();
      for (let i = 0; i < 4; i++) {
        const res = await chat(unknown, '203.0.113.1');
        assert.equal(res.status, 401, await res.text());
      }
      assert.equal(spy.count() - start, 1, 'one lookup for four attempts');
      assert.ok((gw.gateway.memory().auth_negative ?? 0) >= 1);
    });

    test('a key that appears after its negative entry works within the refresh interval', async () => {
      const key = `sk-gw-late-${randomBytes(16).toString('hex')}`;
      assert.equal((await chat(key, '203.0.113.2')).status, 401);
      // Created elsewhere (another instance or the CLI): straight into the database.
      const hash = createHash('sha256').update(key).digest('hex');
      if (db) {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(
          `insert into api_keys (id, name, key_hash, key_prefix, user_id) values ($1, 'late', $2, 'sk-gw-late', 'late')`,
          [`key_late_${backend}`, hash],
        );
        await client.end();
      } else {
        await gw.gateway.stores
          .database()
          .db.insertInto('api_keys')
          .values({
            id: `key_late_${backend}`,
            name: 'late',
            key_hash: hash,
            key_prefix: 'sk-gw-late',
            user_id: 'late',
            tier: 'free',
            allowed_models: '[]',
            daily_budget_usd: null,
            monthly_budget_usd: null,
            expires_at: null,
            revoked_at: null,
            rotated_from: null,
            last_used_at: null,
          })
          .execute();
      }
      // The refresh (every 300 ms here) forgets negative entries and loads the key.
      const deadline = Date.now() + 5_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await chat(key, '203.0.113.2')).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(status, 200);
    });

    test('distinct unknown keys from one source: 429 with Retry-After after the burst, no more queries', async () => {
      const source = '198.51.100.7';
      const start = spy.count();
      for (let i = 0; i < 5; i++) {
        const res = await chat(`sk-gw-guess-${i}-${randomBytes(8).toString('hex')}`, source);
        assert.equal(res.status, 401);
      }
      assert.equal(spy.count() - start, 5);
      for (let i = 0; i < 20; i++) {
        const res = await chat(`sk-gw-more-${i}-${randomBytes(8).toString('hex')}`, source);
        const body = (await res.json()) as ErrorBody;
        assert.equal(res.status, 429);
        assert.equal(body.error.type, 'rate_limit_error');
        assert.match(body.error.message, /failed authentication/);
        const retryAfter = Number(res.headers.get('retry-after'));
        assert.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After ${retryAfter}`);
      }
      assert.equal(spy.count() - start, 5, 'throttled attempts cost no database query');
      // Another source is not affected, and a valid key from the throttled source still works.
      assert.equal((await chat(`sk-gw-other-${randomBytes(8).toString('hex')}`, '198.51.100.8')).status, 401);
      const created = await fetch(`${gw.url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'valid', user_id: 'valid' }),
      });
      assert.equal(created.status, 201);
      const { key } = (await created.json()) as { key: string };
      assert.equal((await chat(key, source)).status, 200);
      assert.ok((gw.gateway.memory().auth_throttled_sources ?? 0) <= 10_000);
    });

    test('wrong admin keys from one source: 429 after the burst; the admin key itself still works', async () => {
      const admin = (key: string, source: string) =>
        fetch(`${gw.url}/admin/keys`, {
          headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': source },
        });
      const source = '198.51.100.9';
      for (let i = 0; i < 5; i++) assert.equal((await admin(`guess-${i}`, source)).status, 401);
      const refused = await admin('guess-5', source);
      assert.equal(refused.status, 429);
      assert.match(((await refused.json()) as ErrorBody).error.message, /failed authentication/);
      assert.ok(Number(refused.headers.get('retry-after')) >= 1);
      // Console sign-in is the same check.
      const signIn = await fetch(`${gw.url}/console/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': source },
        body: JSON.stringify({ key: 'guess-6' }),
      });
      assert.equal(signIn.status, 429);
      assert.equal((await admin(ADMIN, source)).status, 200, 'the right key is never throttled');
      assert.equal((await admin('guess-7', '198.51.100.10')).status, 401, 'another source is not affected');
    });
  });
}
