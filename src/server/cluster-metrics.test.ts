import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import { createMetrics } from '../telemetry/metrics.js';
import {
  type ClusterPrimary,
  type ClusterWorker,
  serveInstanceMetrics,
  type WorkerChannel,
  workerExposition,
} from './cluster-metrics.js';

type Listener = (...args: never[]) => void;

/** node:cluster in memory: messages cross asynchronously and as copies, as over IPC. */
class FakeCluster implements ClusterPrimary {
  readonly #listeners = { message: [] as Listener[], exit: [] as Listener[] };
  on(event: 'message' | 'exit', listener: Listener): this {
    this.#listeners[event].push(listener);
    return this;
  }
  emit(event: 'message' | 'exit', ...args: unknown[]): void {
    for (const l of this.#listeners[event]) (l as (...a: unknown[]) => void)(...args);
  }

  /** A worker; with a registry it runs the worker side (and so answers), without one it stays silent. */
  worker(id: number, registry: Registry | null, scrapeTimeoutMs = 1000) {
    const toWorker: Listener[] = [];
    let connected = true;
    const primarySide: ClusterWorker = {
      id,
      send: (message) =>
        setImmediate(() => {
          for (const l of toWorker) l(copy(message) as never);
        }),
      isConnected: () => connected,
    };
    const channel: WorkerChannel = {
      send: (message) => setImmediate(() => this.emit('message', primarySide, copy(message))),
      on: (_event, listener) => toWorker.push(listener as Listener),
    };
    const exposition = registry ? workerExposition(registry, channel, scrapeTimeoutMs) : null;
    if (!registry) channel.send({ type: 'llm-gateway:metrics-ready' });
    return {
      exposition,
      exit: () => {
        connected = false;
        this.emit('exit', primarySide);
      },
    };
  }
}

const copy = (value: unknown): unknown => JSON.parse(JSON.stringify(value));
const tick = () => new Promise((r) => setImmediate(r));

function sample(text: string, key: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line === undefined ? undefined : Number(line.slice(key.length + 1));
}

describe('the instance exposition of --workers (decision 0224)', () => {
  test('counters and histograms are summed; gauges merge by their aggregator', async () => {
    const cluster = new FakeCluster();
    serveInstanceMetrics(cluster, 1000);
    const [a, b] = [createMetrics({ processMetrics: false }), createMetrics({ processMetrics: false })];
    const labels = { model: 'm', status: '200', cache_status: 'none', provider: 'openai' };
    a.requests.inc(labels, 3);
    b.requests.inc(labels, 4);
    a.requestDuration.observe({ model: 'm', provider: 'openai' }, 0.2);
    b.requestDuration.observe({ model: 'm', provider: 'openai' }, 0.3);
    a.activeRequests.set(1);
    b.activeRequests.set(2);
    a.circuitState.set({ deployment: 'd' }, 2);
    b.circuitState.set({ deployment: 'd' }, 0);
    a.cacheHitRate.set(0.5);
    b.cacheHitRate.set(1);
    a.dailyCostUsd.set(1.5);
    b.dailyCostUsd.set(2);
    const wa = cluster.worker(1, a.registry);
    cluster.worker(2, b.registry);
    await tick();

    const text = await (wa.exposition as () => Promise<string>)();
    assert.equal(
      sample(text, 'llm_requests_total{model="m",status="200",cache_status="none",provider="openai"}'),
      7,
    );
    assert.equal(sample(text, 'llm_request_duration_seconds_count{model="m",provider="openai"}'), 2);
    assert.equal(
      sample(text, 'llm_request_duration_seconds_bucket{le="0.25",model="m",provider="openai"}'),
      1,
    );
    assert.equal(sample(text, 'llm_active_requests'), 3, 'in flight: summed');
    assert.equal(sample(text, 'llm_circuit_state{deployment="d"}'), 2, 'a breaker: the worst state');
    assert.equal(sample(text, 'llm_cache_hit_rate'), 0.75, 'a rate: the mean');
    assert.equal(sample(text, 'llm_daily_cost_usd'), 3.5, "each worker's own spend: summed");
  });

  test("a spend total shared through Redis is the workers' highest, not their sum", async () => {
    const cluster = new FakeCluster();
    serveInstanceMetrics(cluster, 1000);
    const [a, b] = [1, 2].map(() => createMetrics({ processMetrics: false, sharedDailyCost: true }));
    a?.dailyCostUsd.set(4);
    b?.dailyCostUsd.set(4.25);
    const wa = cluster.worker(1, (a as ReturnType<typeof createMetrics>).registry);
    cluster.worker(2, (b as ReturnType<typeof createMetrics>).registry);
    await tick();
    assert.equal(sample(await (wa.exposition as () => Promise<string>)(), 'llm_daily_cost_usd'), 4.25);
  });

  test('a worker that exits during a scrape is left out; one that does not answer fails the scrape', async () => {
    const cluster = new FakeCluster();
    serveInstanceMetrics(cluster, 100);
    const a = createMetrics({ processMetrics: false });
    a.costUnknownModel.inc(5);
    const wa = cluster.worker(1, a.registry);
    const silent = cluster.worker(2, null);
    await tick();
    const scrape = wa.exposition as () => Promise<string>;

    await assert.rejects(scrape(), /a worker did not send its metrics within 100 ms/);
    const pending = scrape();
    await tick();
    silent.exit();
    assert.equal(sample(await pending, 'llm_cost_unknown_model_total'), 5);
    assert.equal(sample(await scrape(), 'llm_cost_unknown_model_total'), 5, 'gone from later rounds');
  });

  test('without an answer from the primary the scrape fails in bounded time', async () => {
    const channel: WorkerChannel = { send: () => true, on: () => undefined };
    const exposition = workerExposition(createMetrics({ processMetrics: false }).registry, channel, 20);
    await assert.rejects(exposition(), /the cluster primary did not answer within 20 ms/);
  });
});
