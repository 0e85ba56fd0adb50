/**
 * The embedding pool's rules with real worker threads and a fake model (a fixed, thread-blocking run time),
 * so they are tested without weights: refused at once when saturated or loading (never queued behind),
 * the event loop stays free while a worker computes, the caller's signal stops the wait, a crashed worker
 * is replaced. The real model in the pool is tested end to end in test/integration/cache-semantic-model.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, test } from 'node:test';
import { createLogger } from '../../telemetry/logger.js';
import { createMetrics } from '../../telemetry/metrics.js';
import { EmbedderBusyError, EmbeddingPool } from './embed-pool.js';

const pools: EmbeddingPool[] = [];

function pool(options: { size?: number; maxQueue: number; delayMs: number; crashOn?: string }) {
  const metrics = createMetrics();
  const logger = createLogger({ level: 'silent' });
  const p = new EmbeddingPool(
    {
      size: options.size ?? 1,
      maxQueue: options.maxQueue,
      worker: { fake: { delayMs: options.delayMs, dimensions: 8, crashOn: options.crashOn } },
    },
    { logger, metrics },
  );
  pools.push(p);
  return { pool: p, metrics };
}

async function skipped(metrics: ReturnType<typeof createMetrics>, reason: string): Promise<number> {
  const values = (await metrics.semanticSkipped.get()).values;
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

describe('embedding pool', () => {
  test('before the model is loaded a call is skipped at once ("loading"), after it is served', async () => {
    const { pool: p, metrics } = pool({ maxQueue: 4, delayMs: 1 });
    await assert.rejects(
      p.embed(['early']),
      (err) => err instanceof EmbedderBusyError && err.reason === 'loading',
    );
    assert.equal(await skipped(metrics, 'loading'), 1);
    await p.ready();
    const [v] = await p.embed(['hello']);
    assert.ok(v instanceof Float32Array);
    assert.equal(v.length, 8);
    assert.equal(p.dimensions, 8);
  });

  test('over the queue bound a call is refused at once ("saturated"), never queued behind', async () => {
    const { pool: p, metrics } = pool({ maxQueue: 2, delayMs: 150 });
    await p.ready();
    const calls = ['a', 'bb', 'ccc', 'dddd', 'eeeee'].map((t) => p.embed([t]));
    const results = await Promise.allSettled(calls);
    const served = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter(
      (r) =>
        r.status === 'rejected' && r.reason instanceof EmbedderBusyError && r.reason.reason === 'saturated',
    ).length;
    assert.equal(served, 2);
    assert.equal(refused, 3);
    assert.equal(await skipped(metrics, 'saturated'), 3);
    assert.equal(p.stats().pending, 0);
    // Room again once the running texts are done.
    assert.equal((await p.embed(['again'])).length, 1);
  });

  test('the event loop keeps running while a worker computes', async () => {
    const { pool: p } = pool({ maxQueue: 4, delayMs: 200 });
    await p.ready();
    let ticks = 0;
    let done = false;
    const call = p.embed(['busy']).finally(() => {
      done = true;
    });
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      ticks++;
    }
    await call;
    // A model on the event loop would let no tick run during its 200 ms.
    assert.ok(ticks > 10, `${ticks} event-loop turns while the worker ran`);
  });

  test("the caller's signal stops the wait at once; the late answer is dropped", async () => {
    const { pool: p } = pool({ maxQueue: 4, delayMs: 200 });
    await p.ready();
    const controller = new AbortController();
    const call = p.embed(['slow'], controller.signal);
    controller.abort(new Error('gave up'));
    await assert.rejects(call, /gave up/);
    assert.equal(p.stats().pending, 1, 'still running in the worker');
    await p.embed(['next']);
    assert.equal(p.stats().pending, 0);
  });

  test('work is spread over the workers', async () => {
    const { pool: p } = pool({ size: 2, maxQueue: 4, delayMs: 100 });
    await p.ready();
    assert.deepEqual(p.stats(), { pending: 0, workers: 2, ready: 2, maxQueue: 4 });
    const calls = [p.embed(['one']), p.embed(['two'])];
    assert.equal(p.stats().pending, 2);
    await Promise.all(calls);
  });

  test('each worker names its OS thread embedder-N (Linux), so operators and the benchmark can find and pin it', {
    skip: existsSync('/proc/thread-self/comm') ? false : 'no /proc',
  }, async () => {
    const { pool: p } = pool({ size: 2, maxQueue: 4, delayMs: 1 });
    await p.ready();
    const names = readdirSync('/proc/self/task').map((tid) =>
      readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
    );
    assert.deepEqual(names.filter((n) => n.startsWith('embedder-')).sort(), ['embedder-0', 'embedder-1']);
  });

  test('a crashed worker fails its calls and is replaced', async () => {
    const { pool: p, metrics } = pool({ maxQueue: 4, delayMs: 1, crashOn: 'boom' });
    await p.ready();
    await assert.rejects(p.embed(['boom']), /exited/);
    const skippedBefore = await skipped(metrics, 'unavailable');
    // Replaced at once (the first replacement does not wait).
    while (p.stats().ready === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.equal((await p.embed(['fine'])).length, 1);
    assert.ok(skippedBefore <= 1);
  });
});
