/**
 * The exact cache on real Redis (DESIGN §6, §11): two gateway instances share entries, values are compact
 * (gzip above a size), a corrupt entry is a counted miss and is deleted, entries expire, the admin routes
 * see the shared store, and a Redis that stops mid-run never fails a request.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MockUpstream } from '../fixtures/mock-upstream/server.js';
import { adminHeaders, deterministic, startCacheGateway } from '../helpers/cache.js';
import { postJson, readSseData, type TestGateway } from '../helpers/gateway.js';
import {
  type PrivateRedis,
  REDIS_URL,
  requireServices,
  startRedisServer,
  uniquePrefix,
} from '../helpers/services.js';

const skip = await requireServices('redis');

async function cacheKeys(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}cache:x:*`, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

describe('exact cache (Redis backend, two instances)', { skip }, () => {
  let mock: MockUpstream;
  let a: TestGateway;
  let b: TestGateway;
  let redis: Redis;
  const prefix = uniquePrefix('cache');

  before(async () => {
    mock = await MockUpstream.start();
    const env = { REDIS_URL, REDIS_KEY_PREFIX: prefix, REDIS_COMMAND_TIMEOUT_MS: '500' };
    a = await startCacheGateway({ mock, env });
    b = await startCacheGateway({ mock, env });
    redis = new Redis(REDIS_URL);
  });
  after(async () => {
    await a.close();
    await b.close();
    await mock.close();
    await redis.del(...(await cacheKeys(redis, prefix)), `${prefix}none`);
    redis.disconnect();
  });
  beforeEach(() => mock.reset());

  test('an entry written by one instance is a HIT on the other (completion and stream)', async () => {
    const first = await postJson(`${a.url}/v1/chat/completions`, deterministic('shared across instances'));
    assert.equal(first.headers.get('x-cache-status'), 'MISS');
    const text = ((await first.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]
      ?.message.content;
    // The write happens after the response; give it the moment it needs.
    await waitFor(async () => (await cacheKeys(redis, prefix)).length > 0);
    const second = await postJson(`${b.url}/v1/chat/completions`, {
      temperature: 0,
      messages: [{ content: 'shared across instances', role: 'user' }],
      model: 'gpt-4o-mini',
    });
    assert.equal(second.headers.get('x-cache-status'), 'HIT');
    assert.equal(second.headers.get('x-cache-type'), 'EXACT');
    assert.equal(
      ((await second.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
      text,
    );
    const stream = await postJson(`${b.url}/v1/chat/completions`, {
      ...deterministic('shared across instances'),
      stream: true,
    });
    assert.equal(stream.headers.get('x-cache-status'), 'HIT');
    const events = await readSseData(stream.response);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(mock.requests.length, 1);
  });

  test('temperature > 0 is not cached in Redis either; no-store writes nothing', async () => {
    const before = (await cacheKeys(redis, prefix)).length;
    await (await postJson(`${a.url}/v1/chat/completions`, deterministic('hot', { temperature: 1 }))).text();
    await (
      await postJson(`${a.url}/v1/chat/completions`, deterministic('nostore'), {
        'cache-control': 'no-store',
      })
    ).text();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await cacheKeys(redis, prefix)).length, before);
  });

  test('large answers are stored gzipped and come back intact', async () => {
    const long = 'All work and no play makes Jack a dull boy. '.repeat(200);
    mock.setAnswer({ text: long });
    await (await postJson(`${a.url}/v1/chat/completions`, deterministic('big answer'))).text();
    const keys = await cacheKeys(redis, prefix);
    let gzipped = false;
    await waitFor(async () => {
      for (const key of await cacheKeys(redis, prefix)) {
        const raw = await redis.getBuffer(key);
        if (raw && raw[0] === 0x1f && raw[1] === 0x8b) gzipped = raw.byteLength < long.length / 4;
      }
      return gzipped;
    });
    assert.ok(gzipped, `a compact gzipped value among ${keys.length} keys`);
    const hit = await postJson(`${b.url}/v1/chat/completions`, deterministic('big answer'));
    assert.equal(hit.headers.get('x-cache-status'), 'HIT');
    assert.equal(
      ((await hit.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
      long,
    );
  });

  test('a corrupt entry is a miss: the request succeeds, the entry is deleted and counted', async () => {
    const existing = new Set(await cacheKeys(redis, prefix));
    await (await postJson(`${a.url}/v1/chat/completions`, deterministic('to corrupt'))).text();
    let key = '';
    await waitFor(async () => {
      key = (await cacheKeys(redis, prefix)).find((k) => !existing.has(k)) ?? '';
      return key !== '';
    });
    await redis.set(key, '{not json', 'PX', 60_000);
    const res = await postJson(`${b.url}/v1/chat/completions`, deterministic('to corrupt'));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-cache-status'), 'MISS');
    await res.text();
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /llm_dependency_errors_total\{dependency="cache"\} 1\b/);
    // Deleted, then replaced by the fresh answer: served as a HIT again, never as garbage.
    await waitFor(async () => (await redis.get(key))?.startsWith('{"v":1') === true);
    const hit = await postJson(`${a.url}/v1/chat/completions`, deterministic('to corrupt'));
    assert.equal(hit.headers.get('x-cache-status'), 'HIT');
    await hit.text();
  });

  test('entries expire (X-Cache-TTL: 1)', async () => {
    const body = deterministic('one second');
    await (await postJson(`${a.url}/v1/chat/completions`, body, { 'x-cache-ttl': '1' })).text();
    await waitFor(async () => {
      const res = await postJson(`${b.url}/v1/chat/completions`, body);
      await res.text();
      return res.headers.get('x-cache-status') === 'HIT';
    });
    await new Promise((r) => setTimeout(r, 1_100));
    const res = await postJson(`${b.url}/v1/chat/completions`, body, { 'cache-control': 'no-store' });
    assert.equal(res.headers.get('x-cache-status'), 'MISS');
    await res.text();
  });

  test('admin stats read the shared store; DELETE by model clears it for every instance', async () => {
    await (
      await postJson(`${a.url}/v1/chat/completions`, deterministic('admin redis', { model: 'gpt-4o' }))
    ).text();
    await waitFor(async () => (await cacheKeys(redis, prefix)).some((k) => k.includes(':x:gpt-4o:')));
    const stats = (await (await fetch(`${b.url}/admin/cache/stats`, { headers: adminHeaders })).json()) as {
      backend: string;
      entries: number;
      bytes: number;
    };
    assert.equal(stats.backend, 'redis');
    assert.ok(stats.entries >= 1);
    assert.ok(stats.bytes > 0);
    const del = await fetch(`${b.url}/admin/cache?model=gpt-4o`, { method: 'DELETE', headers: adminHeaders });
    assert.ok(((await del.json()) as { deleted: number }).deleted >= 1);
    assert.equal((await cacheKeys(redis, prefix)).filter((k) => k.includes(':x:gpt-4o:')).length, 0);
    const res = await postJson(
      `${a.url}/v1/chat/completions`,
      deterministic('admin redis', { model: 'gpt-4o' }),
    );
    assert.equal(res.headers.get('x-cache-status'), 'MISS');
    await res.text();
  });
});

describe('Redis stopped mid-run', { skip }, () => {
  let mock: MockUpstream;
  let gw: TestGateway;
  let server: PrivateRedis;

  before(async () => {
    server = await startRedisServer();
    mock = await MockUpstream.start();
    gw = await startCacheGateway({
      mock,
      env: {
        REDIS_URL: server.url,
        REDIS_KEY_PREFIX: uniquePrefix('cache-down'),
        REDIS_COMMAND_TIMEOUT_MS: '200',
      },
    });
  });
  after(async () => {
    await gw.close();
    await mock.close();
    await server.close();
  });

  test('requests still succeed (as misses) while Redis is down, and caching resumes after', async () => {
    const url = `${gw.url}/v1/chat/completions`;
    const body = deterministic('redis outage');
    await (await postJson(url, body)).text();
    await waitFor(async () => {
      const res = await postJson(url, body);
      await res.text();
      return res.headers.get('x-cache-status') === 'HIT';
    });
    await server.stop();
    for (const stream of [false, true, false]) {
      const res = await postJson(url, { ...body, stream });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-status'), 'MISS');
      if (stream) assert.equal((await readSseData(res.response)).at(-1), '[DONE]');
      else await res.json();
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /llm_dependency_errors_total\{dependency="redis"\} [1-9]/);

    await server.start();
    assert.ok(await gw.gateway.stores.redis?.waitReady(10_000), 'reconnected');
    const fresh = deterministic('after the outage');
    await (await postJson(url, fresh)).text();
    await waitFor(async () => {
      const res = await postJson(url, fresh);
      await res.text();
      return res.headers.get('x-cache-status') === 'HIT';
    });
  });
});

/** Polls a condition (cache writes happen just after the response); fails after `ms`. */
async function waitFor(check: () => Promise<boolean>, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
