/**
 * `GET /metrics` of a gateway run with `--workers N` (docs/decisions/0224): the whole instance, not the
 * worker that happened to take the scrape. The worker asks the primary over the cluster's IPC channel; the
 * primary asks every ready worker for its registry (`getMetricsAsJSON`), merges them with prom-client's
 * `AggregatorRegistry.aggregate` (counters and histograms summed per label set, each gauge by its own
 * `aggregator`: metrics.ts) and hands the text back. Nothing of this runs per request: only per scrape.
 *
 *   worker (scraped) ──scrape──▶ primary ──collect──▶ every ready worker ──registry JSON──▶ primary
 *   worker ◀──────────────────── primary: the aggregated exposition (or why it could not be made)
 */
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

/** The IPC channel of a worker (`process` in a cluster worker). */
export interface WorkerChannel {
  send(message: unknown): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** A worker as the primary sees it (`cluster.Worker`). */
export interface ClusterWorker {
  readonly id: number;
  send(message: unknown): unknown;
  isConnected(): boolean;
}

/** The primary's view of the cluster (`node:cluster` in the primary). */
export interface ClusterPrimary {
  on(event: 'message', listener: (worker: ClusterWorker, message: unknown) => void): unknown;
  on(event: 'exit', listener: (worker: ClusterWorker) => void): unknown;
}

/** Messages, by `type`. */
const READY = 'llm-gateway:metrics-ready'; // worker → primary: I answer COLLECT
const COLLECT = 'llm-gateway:metrics-collect'; // primary → worker: your registry, please
const COLLECTED = 'llm-gateway:metrics-collected'; // worker → primary: { id, metrics } or { id, error }
const SCRAPE = 'llm-gateway:metrics-scrape'; // worker → primary: the instance's exposition, please
const SCRAPED = 'llm-gateway:metrics-scraped'; // primary → worker: { id, text } or { id, error }

interface Message {
  type?: unknown;
  id?: unknown;
  text?: unknown;
  error?: unknown;
  metrics?: unknown;
}

type Metrics = MetricObjectWithValues<MetricValue<string>>[];

/** How long a worker waits for the primary's answer (under Prometheus' default 10 s scrape timeout). */
export const SCRAPE_TIMEOUT_MS = 5_000;
/** How long the primary waits for every worker's registry. */
export const COLLECT_TIMEOUT_MS = 3_000;

/**
 * Worker side: answers the primary's collection requests with `registry`, and returns the function
 * `GET /metrics` serves: the instance's exposition, asked of the primary. Call once per worker process.
 */
export function workerExposition(
  registry: Registry,
  channel: WorkerChannel,
  timeoutMs = SCRAPE_TIMEOUT_MS,
): () => Promise<string> {
  const waiting = new Map<number, { resolve(text: string): void; reject(err: Error): void }>();
  let next = 0;
  channel.on('message', (raw) => {
    const message = raw as Message | null;
    if (message?.type === COLLECT) {
      registry.getMetricsAsJSON().then(
        (metrics) => channel.send({ type: COLLECTED, id: message.id, metrics }),
        (err: unknown) => channel.send({ type: COLLECTED, id: message.id, error: String(err) }),
      );
    } else if (message?.type === SCRAPED && typeof message.id === 'number') {
      const w = waiting.get(message.id);
      if (!w) return;
      waiting.delete(message.id);
      if (typeof message.text === 'string') w.resolve(message.text);
      else w.reject(new Error(String(message.error ?? 'no metrics')));
    }
  });
  channel.send({ type: READY });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`the cluster primary did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      channel.send({ type: SCRAPE, id });
    });
}

/** One collection round: the registries still awaited and those that arrived. */
interface Round {
  awaiting: Set<number>;
  collected: Metrics[];
  finish(error: string | null): void;
}

/**
 * Primary side: answers workers' scrape requests with the aggregate of every ready worker's registry. A
 * worker that exits during a round is left out of it; one that does not answer in `timeoutMs` fails the
 * round (the scrape fails, rather than showing counters that went down for a moment).
 */
export function serveInstanceMetrics(cluster: ClusterPrimary, timeoutMs = COLLECT_TIMEOUT_MS): void {
  const ready = new Map<number, ClusterWorker>();
  const rounds = new Map<number, Round>();
  let next = 0;

  const settle = (round: Round) => {
    if (round.awaiting.size === 0) round.finish(null);
  };

  const scrape = (asker: ClusterWorker, askId: unknown) => {
    const id = next++;
    const timer = setTimeout(
      () => round.finish(`a worker did not send its metrics within ${timeoutMs} ms`),
      timeoutMs,
    );
    const round: Round = {
      awaiting: new Set(),
      collected: [],
      finish(error) {
        if (!rounds.delete(id)) return;
        clearTimeout(timer);
        const answer = (reply: { text?: string; error?: string }) => {
          if (asker.isConnected()) asker.send({ type: SCRAPED, id: askId, ...reply });
        };
        if (error !== null) return answer({ error });
        aggregate(round.collected).then(
          (text) => answer({ text }),
          (err: unknown) => answer({ error: String(err) }),
        );
      },
    };
    rounds.set(id, round);
    for (const worker of ready.values()) {
      if (!worker.isConnected()) continue;
      round.awaiting.add(worker.id);
      worker.send({ type: COLLECT, id });
    }
    settle(round);
  };

  cluster.on('message', (worker, raw) => {
    const message = raw as Message | null;
    if (message?.type === READY) ready.set(worker.id, worker);
    else if (message?.type === SCRAPE) scrape(worker, message.id);
    else if (message?.type === COLLECTED && typeof message.id === 'number') {
      const round = rounds.get(message.id);
      if (!round?.awaiting.delete(worker.id)) return;
      if (Array.isArray(message.metrics)) round.collected.push(message.metrics as Metrics);
      else return round.finish(`a worker could not read its metrics: ${String(message.error)}`);
      settle(round);
    }
  });
  cluster.on('exit', (worker) => {
    ready.delete(worker.id);
    for (const round of rounds.values()) if (round.awaiting.delete(worker.id)) settle(round);
  });
}

/** The exposition text of the workers' registries merged (prom-client's aggregation rules). */
async function aggregate(collected: Metrics[]): Promise<string> {
  return AggregatorRegistry.aggregate(collected).metrics();
}
