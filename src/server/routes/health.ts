/**
 * Health endpoints: /health/live (process up), /health/ready (200 unless shutting down or the embedded
 * database opened at start is still opening: Redis and PostgreSQL are fail-open dependencies, so their
 * outage never makes the gateway unready; the body reports the database), /health (details of each
 * dependency; a `down` one degrades the status).
 */
import type { FastifyInstance } from 'fastify';
import type { RequestContext } from '../../core/context.js';
import type { DependencyCheck } from '../../core/feature.js';
import type { LiveList } from '../../core/live-list.js';
import type { ProviderRegistry } from '../../providers/registry.js';

export interface Lifecycle {
  shuttingDown: boolean;
  /** The database as readiness reports it; `blocking`: not ready until it is open (embedded PGlite). */
  database?: () => { status: string; blocking: boolean };
  /**
   * Every pipeline request from its arrival until its response closed (both request paths keep it); a
   * shutdown whose grace period runs out answers the ones still waiting with a 503 (shutdown.ts).
   */
  inflight?: LiveList<RequestContext>;
}

export function registerHealthRoutes(
  app: FastifyInstance,
  deps: {
    registry: ProviderRegistry;
    lifecycle: Lifecycle;
    version: string;
    dependencies: Record<string, DependencyCheck>;
  },
): void {
  const hidden = { schema: { tags: ['Operations'] } };
  app.get('/health/live', hidden, async () => ({ status: 'alive' }));

  app.get('/health/ready', hidden, async (_request, reply) => {
    if (deps.lifecycle.shuttingDown) return reply.code(503).send({ status: 'shutting_down' });
    const database = deps.lifecycle.database?.();
    if (database?.blocking) return reply.code(503).send({ status: 'starting', database: database.status });
    return { status: 'ready', ...(database ? { database: database.status } : {}) };
  });

  app.get('/health', hidden, async (_request, reply) => {
    const providers = Object.fromEntries(
      deps.registry
        .statuses()
        .map((s) => [
          s.name,
          { type: s.type, offered: s.offered, ...(s.reason ? { reason: s.reason } : {}) },
        ]),
    );
    const offered = Object.values(providers).filter((p) => p.offered).length;
    const checks = await Promise.all(
      Object.entries(deps.dependencies).map(async ([name, check]) => [name, await check()] as const),
    );
    const dependencies = Object.fromEntries(checks);
    const dependencyDown = checks.some(([, c]) => c.status === 'down');
    const status = deps.lifecycle.shuttingDown
      ? 'shutting_down'
      : offered === 0 || dependencyDown
        ? 'degraded'
        : 'ok';
    if (deps.lifecycle.shuttingDown) reply.code(503);
    return {
      status,
      version: deps.version,
      uptime_seconds: Math.round(process.uptime()),
      providers,
      // Redis and the database: a failure degrades (requests still succeed) but never makes the gateway unready.
      dependencies,
    };
  });
}
