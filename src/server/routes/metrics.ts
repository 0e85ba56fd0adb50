/**
 * GET /metrics: the Prometheus exposition of the gateway's registry (DESIGN §9), or with `--workers N` of
 * the whole instance (every worker's registry merged by the cluster primary: server/cluster-metrics.ts).
 * Open like /health: put it behind the network, not behind a key, as Prometheus scrapers expect.
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../telemetry/metrics.js';

/** The exposition text `/metrics` serves, when it is not this process's registry alone. */
export type MetricsExposition = () => Promise<string>;

export function registerMetricsRoute(
  app: FastifyInstance,
  metrics: Metrics,
  exposition: MetricsExposition = () => metrics.registry.metrics(),
): void {
  app.get(
    '/metrics',
    { schema: { tags: ['Operations'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      let body: string;
      try {
        body = await exposition();
      } catch (err) {
        // A scrape of part of the instance would read as counters going down: fail it instead.
        return reply
          .code(503)
          .type('text/plain; charset=utf-8')
          .send(`metrics unavailable: ${(err as Error).message}\n`);
      }
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
}
