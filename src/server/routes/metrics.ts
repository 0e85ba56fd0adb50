/**
 * GET /metrics: the Prometheus exposition of the gateway's registry (DESIGN §9). Open like /health: put it
 * behind the network, not behind a key, as Prometheus scrapers expect.
 */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../telemetry/metrics.js';

export function registerMetricsRoute(app: FastifyInstance, metrics: Metrics): void {
  app.get(
    '/metrics',
    { schema: { tags: ['Operations'], summary: 'Prometheus metrics' } },
    async (_req, reply) => {
      const body = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(body);
    },
  );
}
